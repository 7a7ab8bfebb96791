#!/usr/bin/env bash
# Run every fuzz target for FUZZTIME (default 60s) each. Crashers land in
# the package's testdata/fuzz and become regression tests. A failing target
# does not stop the others: every target runs, the failures are listed at
# the end and the script exits 1 if there was any.
#
#   FUZZTIME=10m scripts/fuzz.sh      # each target for 10 minutes
#   FUZZ_JOBS=2 scripts/fuzz.sh       # two targets at once, one fuzzing worker each
#   FUZZ_TARGETS='FuzzRPC FuzzAPI' scripts/fuzz.sh   # only these targets
#
# FUZZ_JOBS (default 1) runs that many targets at once. With more than one
# job each target gets -parallel nproc/FUZZ_JOBS workers (at least one), so
# the machine is used as fully as one job at a time would, in less time.
# The output is printed target by target, in the same order either way:
# "== <package> <target> (<time>)", go test's own output, and a last line
# "fuzz-result: <package> <target> ok|FAIL <seconds>s execs=<n>".
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0
t=${FUZZTIME:-60s}
jobs=${FUZZ_JOBS:-1}
only=" ${FUZZ_TARGETS:-} "
case "$jobs" in '' | *[!0-9]* | 0)
	echo "fuzz: FUZZ_JOBS=$jobs: want a number of targets to run at once (1 or more)" >&2
	exit 2
	;;
esac
par=$(($(nproc) / jobs))
if [ "$par" -lt 1 ]; then par=1; fi

out=$(mktemp -d /tmp/hearth-fuzz.XXXXXX)
trap 'rm -rf "$out"' EXIT

# The list of targets, in package order.
n=0
: >"$out/targets"
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
		if [ "$only" != "  " ] && [[ "$only" != *" $f "* ]]; then continue; fi
		echo "$n $pkg $f" >>"$out/targets"
		n=$((n + 1))
	done
done
if [ "$n" = 0 ]; then
	echo "fuzz: no fuzz targets${FUZZ_TARGETS:+ named $FUZZ_TARGETS}" >&2
	exit 2
fi
echo "fuzz: $n targets, $t each, $jobs at a time with $par worker(s) each"

run() { # index package target
	local i=$1 pkg=$2 f=$3 start rc=0 execs
	start=$(date +%s)
	{
		echo "== $pkg $f ($t)"
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" -parallel "$par" "$pkg" 2>&1 || rc=$?
	} >"$out/$i.log"
	execs=$(grep -o 'execs: [0-9]*' "$out/$i.log" | tail -1 | awk '{print $2}' || true)
	if [ "$rc" = 0 ]; then r=ok; else r=FAIL; fi
	echo "fuzz-result: $pkg $f $r $(($(date +%s) - start))s execs=${execs:-0}" >>"$out/$i.log"
	mv "$out/$i.log" "$out/$i.done"
}

# Start targets as slots free up; print each one's output in order as soon
# as it and all before it are done.
next=0
printed=0
pids=()
while [ "$printed" -lt "$n" ]; do
	alive=()
	for p in "${pids[@]}"; do
		if kill -0 "$p" 2>/dev/null; then alive+=("$p"); fi
	done
	pids=("${alive[@]}")
	while [ "$next" -lt "$n" ] && [ "${#pids[@]}" -lt "$jobs" ]; do
		read -r i pkg f < <(sed -n "$((next + 1))p" "$out/targets")
		run "$i" "$pkg" "$f" &
		pids+=($!)
		next=$((next + 1))
	done
	while [ "$printed" -lt "$n" ] && [ -f "$out/$printed.done" ]; do
		cat "$out/$printed.done"
		printed=$((printed + 1))
	done
	if [ "$printed" -lt "$n" ]; then sleep 1; fi
done
wait

failed=$(grep -h '^fuzz-result: .* FAIL ' "$out"/*.done | awk '{print "  " $2 " " $3}' || true)
if [ -n "$failed" ]; then
	echo "fuzz: $(echo "$failed" | wc -l) target(s) failed:" >&2
	echo "$failed" >&2
	exit 1
fi
