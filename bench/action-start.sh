#!/usr/bin/env bash
# How long each way of starting the action takes, from step start to the end of
# `tinyforge-check action`, on this machine. The check itself is the same every time: a lint-only
# push check of testdata/sample/.tinyforge.yml (no network), so the differences are start-up.
# Results are recorded in docs/performance.md.
#
# Usage: bash bench/action-start.sh [-n RUNS] [-c]
#   -n  timed runs of each composite path (default 20; medians are printed)
#   -c  also time the Dockerfile path with empty Go caches (go mod download + go build, as the
#       image build does; minutes, and it downloads every module from the Go module proxy)
#
# Paths:
#   binary        the binary alone: the floor
#   host-cached   host/action.yml's resolve.sh finds the binary in the tool cache, verifies its
#                 SHA-256 against host/release.sha256, then the check runs
#   host-download resolve.sh downloads it from a release server on 127.0.0.1 into an empty tool
#                 cache, verifies it, then the check runs
#   dockerfile    (-c) today's `image: Dockerfile`: compile with empty caches, then the check
# It also prints the release image's size: the scratch image holds the binary and the CA bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

runs=20
cold=0
while getopts "n:ch" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    c) cold=1 ;;
    h) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: bash $0 [-n RUNS] [-c]" >&2; exit 2 ;;
  esac
done

tmp=$(mktemp -d)
server_pid=""
cleanup() { [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

version=0.0.0-bench
goos=$(go env GOOS) goarch=$(go env GOARCH)
file="tinyforge-check_${version}_${goos}_${goarch}"
echo "building the release binary ($file)" >&2
mkdir -p "$tmp/release/v$version" "$tmp/action/host" "$tmp/ws"
CGO_ENABLED=0 go build -trimpath -buildvcs=false \
  -ldflags="-s -w -buildid= -X github.com/tinyforge/tinyforge-check/internal/buildinfo.stamped=$version" \
  -o "$tmp/release/v$version/$file" ./cmd/tinyforge-check
cp host/action.yml host/resolve.sh "$tmp/action/host/"
(cd "$tmp/release/v$version" && sha256sum "$file") >"$tmp/action/host/release.sha256"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 "$port" --directory "$tmp/release" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

cp testdata/sample/.tinyforge.yml "$tmp/ws/"
echo '{"after":"1111111111111111111111111111111111111111"}' >"$tmp/event.json"
runner_os=$(case $goos in linux) echo Linux ;; darwin) echo macOS ;; esac)
runner_arch=$(case $goarch in amd64) echo X64 ;; arm64) echo ARM64 ;; esac)

# step_env runs a command with the environment a runner gives the step.
step_env() {
  env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$tmp" \
    GITHUB_ACTIONS=true GITHUB_EVENT_NAME=push GITHUB_EVENT_PATH="$tmp/event.json" GITHUB_REPOSITORY=o/r \
    GITHUB_SHA=1111111111111111111111111111111111111111 GITHUB_WORKSPACE="$tmp/ws" GITHUB_OUTPUT="$tmp/out" \
    GITHUB_ACTION_PATH="$tmp/action/host" RUNNER_OS="$runner_os" RUNNER_ARCH="$runner_arch" RUNNER_TEMP="$tmp" \
    RUNNER_TOOL_CACHE="$tool_cache" TINYFORGE_DOWNLOAD_URL="http://127.0.0.1:$port" \
    "INPUT_SOURCE-TYPE=dockerfile" INPUT_COMMENT=never "$@"
}

# check runs the lint-only action with bin; it must exit 0.
check() { step_env "$1" action >/dev/null; }

# host_step runs what host/action.yml runs: resolve.sh, then the binary it names.
host_step() {
  : >"$tmp/out"
  step_env bash "$tmp/action/host/resolve.sh" >/dev/null
  local bin
  bin=$(sed -n 's/^path=//p' "$tmp/out")
  check "$bin"
}

# median_ms NAME PREPARE RUN: RUN timed $runs times (PREPARE before each, untimed); prints the
# median in milliseconds.
median_ms() {
  local name=$1 prepare=$2 run=$3 i t0 t1
  : >"$tmp/times"
  for ((i = 0; i < runs; i++)); do
    $prepare
    t0=$(date +%s%N)
    $run
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000)) >>"$tmp/times"
  done
  sort -n "$tmp/times" | awk -v n="$runs" -v name="$name" '{ a[NR] = $1 } END {
    m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    printf "%-14s median %7.1f ms   min %7.1f ms   max %7.1f ms   (%d runs)\n", name, m / 1000, a[1] / 1000, a[n] / 1000, n }'
}

tool_cache="$tmp/toolcache-warm"
nothing() { :; }
binary_only() { check "$tmp/release/v$version/$file"; }
fresh_cache() { rm -rf "$tmp/toolcache-cold"; tool_cache="$tmp/toolcache-cold"; }
warm_cache() { tool_cache="$tmp/toolcache-warm"; }

warm_cache
host_step # fills the warm cache once
echo "machine: $(nproc) cores, $(uname -sm), $(go version | cut -d' ' -f3); $(date -u +%Y-%m-%d)"
median_ms binary nothing binary_only
median_ms host-cached warm_cache host_step
median_ms host-download fresh_cache host_step

if ((cold)); then
  echo "dockerfile: compiling with empty caches (this takes minutes)" >&2
  src="$tmp/src"
  mkdir -p "$src"
  git ls-files -z | grep -zv -e '_test\.go$' -e '^testdata/' -e '/testdata/' | xargs -0 cp --parents -t "$src"
  t0=$(date +%s%N)
  TIMEFORMAT='dockerfile cpu: user %U s, sys %S s, wall %R s'
  time (cd "$src" && export GOMODCACHE="$tmp/gomod" GOCACHE="$tmp/gocache" GOFLAGS=-modcacherw &&
    go mod download && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$tmp/docker-bin" ./cmd/tinyforge-check)
  check "$tmp/docker-bin"
  t1=$(date +%s%N)
  printf '%-14s %7.1f s (one run: go mod download + go build with empty caches, then the check; the image pull comes on top)\n' dockerfile "$(echo "($t1 - $t0) / 1000000000" | bc -l)"
fi

bin_bytes=$(stat -c %s "$tmp/release/v$version/$file")
ca=/etc/ssl/certs/ca-certificates.crt
ca_bytes=$(stat -c %s "$ca")
mkdir -p "$tmp/image/etc/ssl/certs"
cp "$ca" "$tmp/image/etc/ssl/certs/"
cp "$tmp/release/v$version/$file" "$tmp/image/tinyforge-check"
layer=$(tar -C "$tmp/image" -cf - . | wc -c)
layer_gz=$(tar -C "$tmp/image" -cf - . | gzip -9 | wc -c)
printf 'image          binary %.1f MB + CA bundle %.1f KB: layer %.2f MB, %.2f MB gzipped (what a pull downloads)\n' \
  "$(echo "$bin_bytes / 1000000" | bc -l)" "$(echo "$ca_bytes / 1000" | bc -l)" \
  "$(echo "$layer / 1000000" | bc -l)" "$(echo "$layer_gz / 1000000" | bc -l)"
