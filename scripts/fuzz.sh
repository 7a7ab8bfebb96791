#!/usr/bin/env bash
# Run every fuzz target for FUZZTIME (default 60s) each. Crashers land in
# the package's testdata/fuzz and become regression tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0
t=${FUZZTIME:-60s}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
		echo "== $pkg $f ($t)"
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
	done
done
