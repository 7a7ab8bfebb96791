#!/usr/bin/env bash
# Run every fuzz target for FUZZTIME (default 60s) each. Crashers land in
# the package's testdata/fuzz and become regression tests. A failing target
# does not stop the others: every target runs, the failures are listed at
# the end and the script exits 1 if there was any.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0
t=${FUZZTIME:-60s}
failed=()
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
		echo "== $pkg $f ($t)"
		if ! go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"; then
			failed+=("$pkg $f")
		fi
	done
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} target(s) failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
