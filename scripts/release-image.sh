#!/usr/bin/env bash
# release-image.sh VERSION REVISION REPO [TAG...] builds the container action's image of VERSION
# with ko (.ko.yaml: linux/amd64 and linux/arm64, the release build's flags, no Docker daemon)
# and prints its reference by digest, REPO@sha256:DIGEST, on stdout.
#
# - REVISION is the source commit the binaries are built from (org.opencontainers.image.revision).
#   The release workflow passes main's head for both the first build and the rebuild at the
#   release commit, which only adds the pins: the image, and so its digest, is the same.
# - Without TAGs nothing is pushed: the digest is computed only (what action.yml pins). With TAGs
#   the image is pushed to REPO under each of them (docker login, or ko's keychain, first).
#
# The image runs as root (user 0): GitHub runs a container action as the default Docker user,
# and the runner's workspace and file commands belong to the runner's own user. Its entry point
# is /ko-app/tinyforge-check; action.yml passes `action`.
#
# KO_DEFAULTBASEIMAGE overrides .ko.yaml's base image; ko, from $TINYFORGE_TOOLS_BIN or PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 3 ]]; then
  echo "usage: scripts/release-image.sh VERSION REVISION REPO [TAG...]   (e.g. 1.2.3 \$(git rev-parse HEAD) ghcr.io/tinyforge/tinyforge-check v1.2.3 1.2.3)" >&2
  exit 2
fi
version=${1#v} revision=$2 repo=$3
shift 3
if [[ ! $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
  echo "release-image: '$version' is not a version like 1.2.3 or 1.2.3-rc.1" >&2
  exit 2
fi
if [[ ! $revision =~ ^[0-9a-f]{40}$ ]]; then
  echo "release-image: revision '$revision' is not a full commit hash (git rev-parse HEAD)" >&2
  exit 2
fi
ko=${TINYFORGE_TOOLS_BIN:+$TINYFORGE_TOOLS_BIN/}ko
command -v "$ko" >/dev/null || { echo "release-image: no ko at $ko; run bash scripts/tools.sh ko" >&2; exit 1; }

args=(build ./cmd/tinyforge-check --bare --sbom=none --image-user=0
  --image-label=org.opencontainers.image.title=tinyforge-check
  "--image-label=org.opencontainers.image.description=Lint .tinyforge.yml and report drift from Tinyforge's live config"
  --image-label=org.opencontainers.image.source=https://github.com/tinyforge/tinyforge-check
  "--image-label=org.opencontainers.image.version=$version"
  "--image-label=org.opencontainers.image.revision=$revision")
if (($#)); then
  tags=$(IFS=,; echo "$*")
  args+=(--push=true "--tags=$tags")
else
  args+=(--push=false)
fi
# SOURCE_DATE_EPOCH unset: ko stamps the Unix epoch, so a rebuild gives the same digest.
ref=$(VERSION=$version KO_DOCKER_REPO=$repo GOFLAGS= "$ko" "${args[@]}")
ref=${ref##*$'\n'}
if [[ ! $ref =~ @sha256:[0-9a-f]{64}$ ]]; then
  echo "release-image: ko printed '$ref', not a reference by digest" >&2
  exit 1
fi
echo "$repo@${ref##*@}"
