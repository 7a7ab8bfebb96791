#!/usr/bin/env bash
# Benchmarks. Go micro-benchmarks print to the terminal and bench/results/;
# the swarm transfer benchmark (bench/transfer.sh) needs root for network
# namespaces and Debian peers: BENCH_TRANSFER=1 SIZE_MIB=1024 make bench.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0
mkdir -p bench/results
out=bench/results/go-bench-$(date +%Y%m%d-%H%M%S).txt
{
	echo "# $(date -u) $(uname -m) $(nproc) cores, $(go version)"
	go test -run '^$' -bench . -benchmem -count 3 ./engine/...
} | tee "$out"
echo "wrote $out"
if [ "${BENCH_TRANSFER:-0}" = 1 ]; then
	bench/transfer.sh
fi
