#!/usr/bin/env bash
# pin-release.sh VERSION CHECKSUMS IMAGE turns the current tree into the release commit's tree of
# VERSION (e.g. 1.2.3, no leading v), so that no job that uses the action at that tag compiles:
#
# - action.yml runs the prebuilt image docker://ghcr.io/tinyforge/tinyforge-check:vVERSION@sha256:DIGEST
#   instead of building Dockerfile: the tag for people, the digest for trust (a registry tag can
#   be pushed again; a digest names one image). IMAGE is what scripts/release-image.sh printed,
#   REPO@sha256:DIGEST; only its digest is used;
# - host/release.sha256 holds the SHA-256 of each Linux and macOS binary of that version, taken
#   from CHECKSUMS (GoReleaser's dist/checksums.txt of the same release run). The composite
#   action checks every download and cached binary against these committed sums, never against
#   sums fetched from where the binary came from.
#
# pin-release.sh --check VERSION CHECKSUMS IMAGE changes nothing: it exits 1 unless the committed
# host/release.sha256 holds exactly the sums CHECKSUMS has for those binaries and action.yml runs
# exactly IMAGE's digest, which proves that a build of the release commit reproduced the binaries
# and the image that were pinned (or, after publishing, that the published ones are those).
#
# The release workflow (.github/workflows/release.yml) builds the binaries, pins with them,
# commits the result on top of main's head, rebuilds there and checks, and only then tags that
# commit and publishes (docs/releasing.md). This script changes files only; it never commits,
# tags or pushes.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
if [[ ${1:-} == --check ]]; then
  check=1
  shift
fi
if [[ $# -ne 3 ]]; then
  echo "usage: scripts/pin-release.sh [--check] VERSION CHECKSUMS IMAGE   (e.g. 1.2.3 dist/checksums.txt ghcr.io/tinyforge/tinyforge-check@sha256:…, from scripts/release-image.sh)" >&2
  exit 2
fi
version=${1#v}
checksums=$2
if [[ ! $3 =~ @(sha256:[0-9a-f]{64})$ ]]; then
  echo "pin-release: image '$3' is not a reference by digest (REPO@sha256:64 hex), as scripts/release-image.sh prints" >&2
  exit 2
fi
image="docker://ghcr.io/tinyforge/tinyforge-check:v$version@${BASH_REMATCH[1]}"
if [[ ! $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
  echo "pin-release: '$1' is not a version like 1.2.3 or 1.2.3-rc.1" >&2
  exit 2
fi
[[ -f $checksums ]] || { echo "pin-release: no checksums file at $checksums; run goreleaser first" >&2; exit 1; }

sums=host/release.sha256
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for goos in darwin linux; do
  for goarch in amd64 arm64; do
    name="tinyforge-check_${version}_${goos}_${goarch}"
    line=$(awk -v n="$name" '$2 == n || $2 == "*" n { print $1 "  " n }' "$checksums")
    if [[ ! $line =~ ^[0-9a-f]{64}\ \ $name$ ]]; then
      echo "pin-release: $checksums has no SHA-256 for $name (is it the checksums of release $version?)" >&2
      exit 1
    fi
    echo "$line" >>"$tmp"
  done
done
if ((check)); then
  if ! cmp -s "$tmp" "$sums"; then
    echo "pin-release: $sums does not match $checksums: the build did not reproduce the pinned binaries" >&2
    diff "$sums" "$tmp" >&2 || true
    exit 1
  fi
  pinned=$(sed -n -E 's#^  image: ##p' action.yml)
  if [[ $pinned != "$image" ]]; then
    echo "pin-release: action.yml runs '$pinned', not $image: the image digest does not match the pinned one" >&2
    exit 1
  fi
  echo "pin-release: $sums matches $checksums and action.yml runs $image" >&2
  exit 0
fi
mv "$tmp" "$sums"
trap - EXIT

if ! grep -qE '^  image: ' action.yml; then
  echo "pin-release: action.yml has no runs.image line to pin" >&2
  exit 1
fi
sed -i.bak -E "s#^  image: .*#  image: $image#" action.yml && rm -f action.yml.bak
echo "pin-release: action.yml runs $image; $sums has $(wc -l <"$sums") binaries of $version" >&2
