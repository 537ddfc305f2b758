#!/usr/bin/env bash
# major-tag.sh VERSION prints the major tag vX that a release of VERSION (1.2.3, no leading v)
# moves, or nothing when it moves none. vX moves only with the newest final release of major X:
# never for a prerelease (1.3.0-rc.1), never for a backport (1.2.4 after 1.3.0). The release
# workflow asks once and passes the one answer to both the image tag and the git tag, so
# docker://…:vX and @vX never disagree and never go backwards.
#
# The final releases it compares with are the git tags vX.Y.Z of the repository it runs in
# (fetch them first: actions/checkout with fetch-depth: 0). VERSION itself may be tagged already.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: scripts/major-tag.sh VERSION   (e.g. 1.2.3)" >&2
  exit 2
fi
version=${1#v}
if [[ ! $version =~ ^([0-9]+)\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
  echo "major-tag: '$1' is not a version like 1.2.3 or 1.2.3-rc.1" >&2
  exit 2
fi
major=${BASH_REMATCH[1]}
[[ -z ${BASH_REMATCH[2]} ]] || exit 0 # a prerelease (or build suffix) moves no major tag

# The newest of this major's final releases, this one included; sort -V orders 1.10.0 after 1.9.0.
newest=$({
  git tag --list "v$major.*" | sed -n -E "s/^v($major\.[0-9]+\.[0-9]+)$/\1/p"
  echo "$version"
} | sort -V | tail -n 1)
if [[ $newest == "$version" ]]; then echo "v$major"; fi
