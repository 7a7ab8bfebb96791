#!/usr/bin/env bash
# What makes the armv7 binary big: builds it once stripped (as shipped) and
# once with its symbol table (same flags without -s -w), attributes the
# bytes to packages and modules (firmware/binsize) and writes
# bench/size.txt. `go version -m` of the shipped binary is appended: the
# modules linked in. Fails when a module that must never reach a device is
# linked (sqlite, which would also need cgo).
#
#   scripts/size.sh            # armv7
#   TARGET=mipsle scripts/size.sh
set -euo pipefail
cd "$(dirname "$0")/.."

target=${TARGET:-armv7}
out=${OUT:-bench/size.txt}
case "$target" in
armv5 | armv6 | armv7) env=(GOARCH=arm "GOARM=${target#armv}") ;;
arm64) env=(GOARCH=arm64) ;;
mipsle | mips) env=("GOARCH=$target" GOMIPS=softfloat) ;;
amd64) env=(GOARCH=amd64) ;;
*)
	echo "size: unknown target $target" >&2
	exit 2
	;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
env GOOS=linux "${env[@]}" scripts/build.sh "$tmp/hearth"
# The same build with symbols: scripts/build.sh's flags minus -s -w.
env GOOS=linux "${env[@]}" CGO_ENABLED=0 go build -trimpath -tags netgo,osusergo -o "$tmp/hearth-syms" ./cmd/hearth

if go version -m "$tmp/hearth" | grep -Ei 'sqlite|llsqlite'; then
	echo "size: a sqlite module is linked into the device build (above); it must not be" >&2
	exit 1
fi

{
	echo "# hearth linux/$target: what the binary is made of ($(date -u +%Y-%m-%d), $(go version | cut -d' ' -f3))"
	echo "# scripts/size.sh (make size); shipped build: $(stat -c %s "$tmp/hearth") bytes stripped, $(xz -9e -T1 -c "$tmp/hearth" | wc -c) bytes xz -9e"
	echo
	go run ./firmware/binsize -top 40 -stripped "$(stat -c %s "$tmp/hearth")" "$tmp/hearth-syms"
	echo
	echo "modules linked (go version -m):"
	go version -m "$tmp/hearth" | awk '$1 == "dep" || $1 == "=>" { print "  " $2, $3 }'
} >"$out"
sed -n '1,30p' "$out"
echo "size: wrote $out"
