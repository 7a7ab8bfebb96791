#!/usr/bin/env bash
# Cross-compile hearth for the devices it ships on and print a size table.
#
#   scripts/cross.sh                 # every target into dist/
#   scripts/cross.sh armv7 mipsle    # only these
#   DIST=/tmp/out scripts/cross.sh   # elsewhere
#
# Each binary is static (CGO_ENABLED=0), -trimpath, stripped (-s -w) and
# version stamped: scripts/build.sh builds it. The table gives the stripped
# size, the size after `xz -9e` of the whole file (about what an xz
# squashfs costs; squashfs compresses 128 KiB–1 MiB blocks, so it comes out
# a little bigger — with mksquashfs installed the real number is printed
# too), and the state store compiled in: 32-bit targets have bbolt only,
# 64-bit ones Badger (and bbolt). The table is also written to
# dist/SIZES.txt. Exit status 1 when armv7 exceeds the size budget.
set -euo pipefail
cd "$(dirname "$0")/.."

dist=${DIST:-dist}
# The device build's size budget (issue 9): armv7, stripped and xz.
budget_stripped=$((18 * 1024 * 1024))
budget_xz=$((11 * 512 * 1024)) # 5.5 MiB

# target → GOARCH and its variant variable.
declare -A arch=(
	[armv5]="arm GOARM=5"
	[armv6]="arm GOARM=6"
	[armv7]="arm GOARM=7"
	[arm64]="arm64"
	[mipsle]="mipsle GOMIPS=softfloat"
	[mips]="mips GOMIPS=softfloat"
	[amd64]="amd64"
)
all=(armv5 armv6 armv7 arm64 mipsle mips amd64)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=("${all[@]}")
fi
for t in "${targets[@]}"; do
	if [ -z "${arch[$t]:-}" ]; then
		echo "cross: unknown target $t (known: ${all[*]})" >&2
		exit 2
	fi
done

mkdir -p "$dist"
for t in "${targets[@]}"; do
	read -r goarch variant <<<"${arch[$t]}"
	echo "cross: building $t (GOARCH=$goarch${variant:+ $variant})" >&2
	env GOOS=linux GOARCH="$goarch" ${variant:+"$variant"} scripts/build.sh "$dist/hearth-linux-$t"
done

have_sqfs=""
if command -v mksquashfs >/dev/null 2>&1; then
	have_sqfs=1
fi

mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }

fail=0
table() {
	printf '%-8s %-22s %12s %12s %14s  %s\n' target "GOARCH" stripped "xz -9e" "squashfs xz" "store backend"
	for t in "${targets[@]}"; do
		bin="$dist/hearth-linux-$t"
		read -r goarch variant <<<"${arch[$t]}"
		size=$(stat -c %s "$bin")
		xzsize=$(xz -9e -T1 -c "$bin" | wc -c)
		sqfs="n/a"
		if [ -n "$have_sqfs" ]; then
			tmp=$(mktemp -d)
			cp "$bin" "$tmp/hearth"
			mksquashfs "$tmp/hearth" "$tmp/fs.sqfs" -comp xz -b 256K -no-xattrs -noappend -quiet >/dev/null
			sqfs=$(mib "$(stat -c %s "$tmp/fs.sqfs")")
			rm -rf "$tmp"
		fi
		if go version -m "$bin" | grep -q 'dgraph-io/badger'; then
			store="badger (bbolt also linked)"
		else
			store="bbolt"
		fi
		printf '%-8s %-22s %12s %12s %14s  %s\n' "$t" "$goarch${variant:+ $variant}" "$(mib "$size")" "$(mib "$xzsize")" "$sqfs" "$store"
		if [ "$t" = armv7 ]; then
			if [ "$size" -gt "$budget_stripped" ] || [ "$xzsize" -gt "$budget_xz" ]; then
				echo "cross: armv7 is over its budget (18 MiB stripped, 5.5 MiB xz)" >&2
				fail=1
			fi
		fi
	done
	echo
	echo "stripped: -trimpath -ldflags '-s -w', static (CGO_ENABLED=0), tags netgo,osusergo"
	echo "xz -9e: the whole binary as one xz stream (xz -9e -T1)"
	if [ -n "$have_sqfs" ]; then
		echo "squashfs xz: mksquashfs -comp xz -b 256K of the binary alone"
	else
		echo "squashfs xz: n/a (install squashfs-tools for the real number)"
	fi
	echo "budget (armv7): 18 MiB stripped, 5.5 MiB xz"
}
table >"$dist/SIZES.txt"
cat "$dist/SIZES.txt"
exit "$fail"
