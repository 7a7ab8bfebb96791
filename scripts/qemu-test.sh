#!/usr/bin/env bash
# The device binaries under qemu-user (make qemu-test; a step of make test):
# armv7 (bbolt), arm64 (Badger) and mipsle (bbolt) builds of hearth run
# under Debian's qemu-user-static, serve the API, trade a torrent with a
# native amd64 daemon on loopback in both directions, keep their state over
# a restart, and their peak RSS is reported (firmware/qemu_test.go).
#
# qemu is called explicitly (qemu-arm-static ./hearth …): binfmt_misc is not
# needed. A missing qemu is installed by scripts/test-deps.sh when root,
# otherwise this fails and says what to install; it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for q in qemu-arm-static qemu-aarch64-static qemu-mipsel-static; do
	command -v "$q" >/dev/null 2>&1 || missing+=("$q")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		scripts/test-deps.sh
	else
		echo "qemu-test: ${missing[*]} not found; install Debian's qemu-user-static:" >&2
		echo "  sudo apt-get install -y --no-install-recommends qemu-user-static" >&2
		exit 1
	fi
fi

mkdir -p dist
report=dist/qemu-rss.txt
rm -f "$report"
HEARTH_TEST_QEMU=1 HEARTH_QEMU_REPORT="$PWD/$report" CGO_ENABLED=0 \
	go test -count=1 -timeout 10m -run '^TestQemuDevices$' -v ./firmware/ |
	grep -v '^=== RUN'
echo
echo "peak RSS (VmHWM of the qemu process: includes qemu itself, ~15-21 MB for a hello world):"
cat "$report"
