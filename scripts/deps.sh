#!/usr/bin/env bash
# Installs what the test suite needs beyond Go: Debian's yamllint (benchmark comparison) and
# chromium (the panel's real-browser test), and GitHub's OpenAPI description (provider
# conformance tests) into the gitignored .cache/. Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v yamllint >/dev/null 2>&1 || missing+=(yamllint)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]} with apt-get" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ -f scripts/fetch-openapi.sh ]]; then
  bash scripts/fetch-openapi.sh
fi
