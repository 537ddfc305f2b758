#!/usr/bin/env bash
# Lints the same generated .tinyforge.yml files with tinyforge-check and with yamllint and
# prints both median wall times and their ratio. Results are recorded in docs/performance.md.
#
# Usage: bash bench/lint-vs-yamllint.sh [-n REPETITIONS] [-f FILES] [-l] [-k]
#   -n  timed runs of each command (default 10; one untimed warm-up run comes first)
#   -f  number of files to generate (default 1000)
#   -l  time with the bash loop even when hyperfine is installed
#   -k  keep the temporary directory (its path is printed)
# Uses hyperfine when it is installed, else a bash loop timed with `date +%s%N`.
set -euo pipefail

reps=10
nfiles=1000
keep=0
loop=0
while getopts "n:f:lkh" opt; do
	case "$opt" in
	n) reps=$OPTARG ;;
	f) nfiles=$OPTARG ;;
	l) loop=1 ;;
	k) keep=1 ;;
	h)
		sed -n '2,11s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*)
		echo "usage: bash $0 [-n REPETITIONS] [-f FILES] [-l] [-k]" >&2
		exit 2
		;;
	esac
done
if ! [[ $reps =~ ^[1-9][0-9]*$ && $nfiles =~ ^[1-9][0-9]*$ ]]; then
	echo "bench: -n and -f take positive integers" >&2
	exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v yamllint >/dev/null 2>&1; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
		echo "bench: installing yamllint (Debian package)" >&2
		apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yamllint >&2
	else
		echo "bench: yamllint is not installed; install it with: sudo apt-get install -y yamllint" >&2
		echo "       (or: pipx install yamllint), then run this script again" >&2
		exit 1
	fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tinyforge-bench.XXXXXX")
if [[ $keep -eq 1 ]]; then
	echo "bench: keeping $tmp" >&2
else
	trap 'rm -rf "$tmp"' EXIT
fi

# Generate the files: deterministic (fixed seed), varied in the fields declared, their values,
# style (block or flow mapping, quotes, comments, document markers) and size, all valid.
RANDOM=20261128
healthchecks=(/healthz /health /ready /api/health /status "/ready?full=1" /livez /_ping /metrics/health)
strategies=(rolling recreate)
files=()
for ((i = 0; i < nfiles; i++)); do
	dir=$tmp/repos/$(printf 'svc%04d' "$i")
	mkdir -p "$dir"
	f=$dir/.tinyforge.yml
	port=$((RANDOM % 65535 + 1))
	hc=${healthchecks[RANDOM % ${#healthchecks[@]}]}
	st=${strategies[RANDOM % 2]}
	shape=$((RANDOM % 8))
	{
		((RANDOM % 3 == 0)) && echo "---"
		((RANDOM % 2 == 0)) && printf '# Deploy settings of service %d, read by Tinyforge on Sync.\n# See docs/editors.md\n' "$i"
		echo "version: 1"
		case $shape in
		0 | 1 | 2)
			printf 'deploy:\n  port: %d\n  healthcheck: %s\n  deploy_strategy: %s\n' "$port" "$hc" "$st" ;;
		3)
			printf 'deploy:\n  port: %d # container port\n  healthcheck: ""  # disabled\n' "$port" ;;
		4)
			printf 'deploy:\n  deploy_strategy: %s # static site\n' "$st" ;;
		5)
			printf 'deploy: {port: %d, healthcheck: "%s", deploy_strategy: "%s"}\n' "$port" "$hc" "$st" ;;
		6)
			printf 'deploy:\n  healthcheck: "%s"\n  deploy_strategy: "%s"\n' "$hc" "$st" ;;
		7)
			printf '\ndeploy:\n  # the port the app listens on\n  port: %d\n\n  # probed before traffic switches\n  healthcheck: %s\n' "$port" "$hc" ;;
		esac
	} >"$f"
	files+=("$f")
done
bytes=$(cat "${files[@]}" | wc -c)

bin=$tmp/tinyforge-check
echo "bench: building tinyforge-check" >&2
(cd "$root" && go build -o "$bin" ./cmd/tinyforge-check)

# Both linters must accept every file, or the comparison would time error reporting.
if ! "$bin" lint "${files[@]}" >"$tmp/lint.out" 2>&1; then
	echo "bench: tinyforge-check rejected a generated file:" >&2
	head -5 "$tmp/lint.out" >&2
	exit 1
fi
if ! yamllint -d relaxed "${files[@]}" >"$tmp/yamllint.out" 2>&1; then
	echo "bench: yamllint rejected a generated file:" >&2
	head -5 "$tmp/yamllint.out" >&2
	exit 1
fi

# median reads numbers (ns), one a line, and prints their median in ns.
median() {
	sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# time_ns NAME CMD... runs CMD once untimed, then $reps times; it prints the median wall time
# (date +%s%N) and the median CPU time (user+system, from bash's time), both in ns.
time_ns() {
	local name=$1
	shift
	"$@" >/dev/null 2>&1 || true
	local i t0 t1 TIMEFORMAT='%3U %3S'
	: >"$tmp/$name.cpu"
	for ((i = 0; i < reps; i++)); do
		t0=$(date +%s%N)
		{ time "$@" >/dev/null 2>&1 || true; } 2>>"$tmp/$name.cpu"
		t1=$(date +%s%N)
		echo $((t1 - t0))
	done >"$tmp/$name.ns"
	echo "$(median <"$tmp/$name.ns") $(awk '{printf "%.0f\n", ($1 + $2) * 1e9}' "$tmp/$name.cpu" | median)"
}

printf '%s\n' "${files[@]}" >"$tmp/paths"
if [[ $loop -eq 0 ]] && command -v hyperfine >/dev/null 2>&1; then
	method="hyperfine --warmup 1 --runs $reps"
	hyperfine --warmup 1 --runs "$reps" --style basic --export-json "$tmp/hyperfine.json" \
		-n tinyforge-check "xargs -d '\\n' -a '$tmp/paths' '$bin' lint" \
		-n yamllint "xargs -d '\\n' -a '$tmp/paths' yamllint -d relaxed" >&2
	# hyperfine's JSON has each run's wall time but only the mean user and system times.
	read -r ours theirs ours_cpu theirs_cpu < <(python3 -c '
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
a, b = r["tinyforge-check"], r["yamllint"]
print(*(round(v * 1e9) for v in (a["median"], b["median"], a["user"] + a["system"], b["user"] + b["system"])))' "$tmp/hyperfine.json")
	cpu_kind="mean"
else
	method="bash loop, date +%s%N, 1 warm-up + $reps timed runs"
	read -r ours ours_cpu < <(time_ns tinyforge-check "$bin" lint "${files[@]}")
	read -r theirs theirs_cpu < <(time_ns yamllint yamllint -d relaxed "${files[@]}")
	cpu_kind="median"
fi

ms() { awk -v n="$1" 'BEGIN {printf "%.1f", n / 1e6}'; }
us_per_file() { awk -v n="$1" -v f="$nfiles" 'BEGIN {printf "%.1f", n / f / 1e3}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }
echo "machine:          $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "files:            $nfiles generated .tinyforge.yml ($bytes bytes in all, $((bytes / nfiles)) on average)"
echo "method:           $method"
echo "tinyforge-check:  $(ms "$ours") ms median wall, $(ms "$ours_cpu") ms CPU ($cpu_kind user+sys)  ($bin lint <$nfiles paths>)"
echo "yamllint:         $(ms "$theirs") ms median wall, $(ms "$theirs_cpu") ms CPU ($cpu_kind user+sys)  (yamllint $(yamllint --version 2>&1 | awk '{print $2}') -d relaxed <$nfiles paths>)"
echo "per file (wall):  $(us_per_file "$ours") µs tinyforge-check, $(us_per_file "$theirs") µs yamllint"
echo "ratio:            yamllint / tinyforge-check = $(ratio "$theirs" "$ours")x wall, $(ratio "$theirs_cpu" "$ours_cpu")x CPU"
