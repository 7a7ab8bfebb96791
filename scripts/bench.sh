#!/usr/bin/env bash
# Benchmarks (`make bench`):
#  1. the Go micro-benchmarks of ./engine/... and of the torrent lists
#     (web, web/transmission: 1,000 torrents) and an idle HTTP connection's
#     memory (web/connlimit) (terminal and bench/results/);
#  2. as root: the swarm matrix (bench/transfer.sh: one qbittorrent-nox
#     seeder; hearth router, hearth nas, transmission-daemon, qbittorrent-nox
#     leeching 1 GiB as one file and 200 files of 5 MiB) and the daemon at
#     rest (bench/daemon.sh: idle RSS with 0 and 100 torrents, start-up with
#     1,000), then bench/report.sh rewrites the measured part of
#     bench/RESULTS.md. Long (about 10-15 minutes on 2 cores).
#
#   make bench                 # everything
#   BENCH_QUICK=1 make bench   # the Go micro-benchmarks only
#   BENCH_GO=0 make bench      # the swarm and daemon benchmarks only
# The variables of bench/transfer.sh and bench/daemon.sh pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0
mkdir -p bench/results
stamp=$(date +%Y%m%d-%H%M%S)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "${BENCH_GO:-1}" = 1 ]; then
	out=bench/results/go-bench-$stamp.txt
	{
		echo "# $(date -u) $(uname -m) $(nproc) cores, $(go version), load $(cut -d' ' -f1-3 /proc/loadavg)"
		go test -run '^$' -bench . -benchmem -count 3 ./engine/...
		go test -run '^$' -bench 'ListTorrents|TorrentGet' -benchmem -count 3 ./web ./web/transmission
		go test -run '^$' -bench 'IdleConnMemory' -count 3 ./web/connlimit
	} | tee "$out"
	echo "wrote $out"
fi
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "bench: the swarm and daemon benchmarks need root (network namespaces); skipped" >&2
	exit 0
fi
rows=bench/results/rows-$stamp.tsv
: >"$rows"
# One hearth binary for both scripts.
bin=$(mktemp -d /tmp/hearth-bench-bin.XXXXXX)
trap 'rm -rf "$bin"' EXIT
if [ -z "${HEARTH:-}" ]; then
	go build -trimpath -o "$bin/hearth" ./cmd/hearth
	export HEARTH="$bin/hearth"
fi
rc=0
ROWS="$rows" bench/transfer.sh || rc=$?
ROWS="$rows" bench/daemon.sh || rc=$?
bench/report.sh "$rows" "Load averages (1/5/15 min) when \`make bench\` started: $load0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
exit "$rc"
