#!/bin/sh
# fetch-openapi.sh fetches GitHub's official OpenAPI description (npm package
# @octokit/openapi) into the gitignored cache .cache/octokit-openapi/, where the
# conformance tests of providers/ and internal/forgefake/ look for
#   .cache/octokit-openapi/node_modules/@octokit/openapi/generated/api.github.com.json
# It is idempotent: when the pinned version is already installed it does nothing.
# Override the version with OCTOKIT_OPENAPI_VERSION.
set -eu

version="${OCTOKIT_OPENAPI_VERSION:-23.0.2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.cache/octokit-openapi"
spec="$dir/node_modules/@octokit/openapi/generated/api.github.com.json"
pkg="$dir/node_modules/@octokit/openapi/package.json"

if [ -s "$spec" ] && [ -f "$pkg" ] && grep -q "\"version\": \"$version\"" "$pkg"; then
	echo "fetch-openapi: @octokit/openapi@$version already in $dir"
	exit 0
fi

command -v npm >/dev/null 2>&1 || {
	echo "fetch-openapi: npm is required (apt-get install npm)" >&2
	exit 1
}

mkdir -p "$dir"
# --ignore-scripts: the package is data only; never run install scripts from the registry.
npm install --prefix "$dir" --no-save --no-audit --no-fund --ignore-scripts \
	--no-package-lock "@octokit/openapi@$version" >&2

if [ ! -s "$spec" ]; then
	echo "fetch-openapi: $spec is missing after npm install" >&2
	exit 1
fi
echo "fetch-openapi: installed @octokit/openapi@$version into $dir"
