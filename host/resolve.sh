#!/usr/bin/env bash
# resolve.sh finds the tinyforge-check binary for the composite action (host/action.yml) and
# writes its path to the step output `path`. It never compiles on a release:
#
# - A release of the action has host/release.sha256 in its own tree: one SHA-256 line per
#   binary, written by scripts/pin-release.sh in the release commit. The binary for this
#   runner comes from the tool cache ($RUNNER_TOOL_CACHE/tinyforge-check/VERSION/ARCH/), else
#   from a download (DOWNLOAD_URL/vVERSION/tinyforge-check_VERSION_OS_ARCH). Either way it is
#   copied into a private folder of this job and that copy's SHA-256 must equal the committed
#   one, or the step fails and the file is never run; the copy is what the next step runs.
# - Any other ref (no release.sha256) is a development ref: the binary is built from the action's
#   own source when Go is on PATH, and the step says so; without Go it fails and says what to do.
#
# Environment: GITHUB_ACTION_PATH (this folder), GITHUB_OUTPUT, RUNNER_OS, RUNNER_ARCH,
# RUNNER_TOOL_CACHE (optional), RUNNER_TEMP, TINYFORGE_DOWNLOAD_URL (the download-url input).
# Needs bash, curl or wget, and sha256sum or shasum; nothing else beyond POSIX tools.
set -euo pipefail

tool=tinyforge-check
here=${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
sums="$here/release.sha256"
tmp_root=${RUNNER_TEMP:-${TMPDIR:-/tmp}}

# escape makes text safe as a workflow command's message: %, CR and LF are encoded.
escape() { local m=${1//%/%25}; m=${m//$'\r'/%0D}; printf '%s' "${m//$'\n'/%0A}"; }
fail() { printf '::error title=tinyforge-check::%s\n' "$(escape "$*")"; exit 1; }
note() { printf '::notice title=tinyforge-check::%s\n' "$(escape "$*")"; }
say() { printf 'tinyforge-check: %s\n' "$*"; }

output() {
  if [[ -n ${GITHUB_OUTPUT:-} ]]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; fi
  say "$1: $2"
}

# platform sets goos, goarch and cache_arch (the tool cache's name for the arch) for this runner.
platform() {
  local os=${RUNNER_OS:-$(uname -s)} arch=${RUNNER_ARCH:-$(uname -m)}
  case $os in
    Linux | linux) goos=linux ;;
    macOS | Darwin | darwin) goos=darwin ;;
    Windows | windows | MINGW* | MSYS*)
      fail "host runners on Windows are not supported: run the tinyforge-check CLI from the release's windows zip, or use a Linux or macOS runner" ;;
    *) fail "unsupported runner OS '$os': host/action.yml runs on Linux and macOS" ;;
  esac
  case $arch in
    X64 | x86_64 | amd64) goarch=amd64 cache_arch=x64 ;;
    ARM64 | aarch64 | arm64) goarch=arm64 cache_arch=arm64 ;;
    *) fail "unsupported runner architecture '$arch': releases have amd64 (X64) and arm64 (ARM64) binaries" ;;
  esac
}

# hasher picks the SHA-256 tool, or fails the step when there is none.
hasher() {
  if command -v sha256sum >/dev/null 2>&1; then hash_cmd=(sha256sum)
  elif command -v shasum >/dev/null 2>&1; then hash_cmd=(shasum -a 256)
  else fail "neither sha256sum nor shasum is on PATH: the binary cannot be verified"
  fi
}

sha256_of() { "${hash_cmd[@]}" "$1" | cut -d' ' -f1; }

# download URL FILE: `--` ends the options, so a download-url that starts with a dash is a URL.
download() {
  if command -v curl >/dev/null 2>&1; then
    curl --fail --silent --show-error --location --retry 3 --connect-timeout 10 --max-time 120 -o "$2" -- "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget --quiet --tries=3 --timeout=30 -O "$2" -- "$1"
  else
    fail "neither curl nor wget is on PATH: cannot download $1"
  fi
}

# keep COPY DIR FILE stores the verified copy in the tool cache for the next job on this runner
# (verified again when used). The cache is best-effort: when DIR cannot be made or written (a
# regular file in its place, another user's folder on a shared runner) a notice says so and the
# step goes on with the verified copy.
keep() {
  local copy=$1 dir=$2 file=$3 part
  if ! mkdir -p -- "$dir" 2>/dev/null || ! part=$(mktemp "$dir/.$tool.XXXXXX" 2>/dev/null); then
    note "the tool cache $dir cannot be written, so the verified binary is not kept for the next job; this job goes on with it"
    return 0
  fi
  if ! { cp -- "$copy" "$part" && chmod 0755 "$part" && mv -f -- "$part" "$file" && touch -- "$dir.complete"; } 2>/dev/null; then
    rm -f -- "$part" 2>/dev/null || true
    note "the tool cache $dir cannot be written, so the verified binary is not kept for the next job; this job goes on with it"
  fi
  return 0
}

release() {
  platform
  hasher # before any hashing: a failure inside $(...) would be lost
  # Every line is "<64 hex>  tinyforge-check_<version>_<os>_<arch>"; all name one version.
  local line version="" want="" name
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -z $line ]] && continue
    if [[ ! $line =~ ^([0-9a-f]{64})\ [\ *]${tool}_([0-9A-Za-z.+-]+)_(linux|darwin)_(amd64|arm64)$ ]]; then
      fail "host/release.sha256 has a malformed line: $line"
    fi
    if [[ -n $version && ${BASH_REMATCH[2]} != "$version" ]]; then
      fail "host/release.sha256 names two versions, $version and ${BASH_REMATCH[2]}"
    fi
    version=${BASH_REMATCH[2]}
    if [[ ${BASH_REMATCH[3]} == "$goos" && ${BASH_REMATCH[4]} == "$goarch" ]]; then want=${BASH_REMATCH[1]}; fi
  done <"$sums"
  [[ -n $version ]] || fail "host/release.sha256 is empty"
  [[ -n $want ]] || fail "release $version has no binary for $goos/$goarch"
  name="${tool}_${version}_${goos}_${goarch}"

  # The binary that runs is a copy in a private folder of this job, hashed there: the shared
  # tool cache may be written by other jobs on the same runner between this step and the next.
  local run_dir copy
  run_dir=$(mktemp -d "$tmp_root/$tool.XXXXXX")
  copy="$run_dir/$tool"

  local dir="" file=""
  if [[ -n ${RUNNER_TOOL_CACHE:-} ]]; then
    dir="$RUNNER_TOOL_CACHE/$tool/$version/$cache_arch"
    file="$dir/$tool"
  fi
  if [[ -n $file && -f $file ]]; then
    cp "$file" "$copy"
    if [[ $(sha256_of "$copy") == "$want" ]]; then
      chmod 0755 "$copy"
      output path "$copy"
      output source cache
      return
    fi
    rm -f "$copy"
    note "the cached $file does not match host/release.sha256; downloading it again"
    rm -f -- "$file" "$dir.complete" 2>/dev/null || true
  fi

  local base=${TINYFORGE_DOWNLOAD_URL:-}
  base=${base:-https://github.com/tinyforge/tinyforge-check/releases/download}
  local url="${base%/}/v$version/$name"
  say "downloading $(escape "$url")"
  download "$url" "$copy" || { rm -f "$copy"; fail "could not download $url; set the download-url input to a mirror of the release if this runner cannot reach it"; }
  local got
  got=$(sha256_of "$copy")
  if [[ $got != "$want" ]]; then
    rm -f "$copy"
    fail "checksum mismatch for $url: got sha256 $got, host/release.sha256 of this action says $want. The file was deleted and not run; check the mirror (download-url)"
  fi
  chmod 0755 "$copy"
  if [[ -n $dir ]]; then keep "$copy" "$dir" "$file"; fi
  output path "$copy"
  output source download
}

development() {
  local root out
  root=$(cd "$here/.." && pwd)
  if ! command -v go >/dev/null 2>&1; then
    fail "this ref of tinyforge-check is not a release (no host/release.sha256), so it would have to be built from source, and Go is not on PATH. Use a release, e.g. uses: tinyforge/tinyforge-check/host@v1, or install Go before this step"
  fi
  [[ -f $root/go.mod && -d $root/cmd/$tool ]] || fail "no release.sha256 and no source at $root: this checkout of the action is incomplete"
  out="$(mktemp -d "$tmp_root/$tool-dev.XXXXXX")/$tool"
  note "this ref of tinyforge-check is not a release (no host/release.sha256): building it from source with $(go version | cut -d' ' -f3)"
  (cd "$root" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$out" "./cmd/$tool") \
    || fail "go build of the action's source failed; use a release, e.g. uses: tinyforge/tinyforge-check/host@v1"
  output path "$out"
  output source build
}

if [[ -f $sums ]]; then release; else development; fi
