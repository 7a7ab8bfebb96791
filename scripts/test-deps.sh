#!/usr/bin/env bash
# Installs what the test suite (and, with "bench", the benchmarks) needs on
# a Debian 12 machine that already has Go. Idempotent: when everything is
# present it touches neither apt nor the network and returns at once.
#
#   scripts/test-deps.sh          # what `make test` needs
#   scripts/test-deps.sh bench    # that plus what bench/*.sh needs
#
# To add a dependency, add one line to DEPS (tests) or BENCH_DEPS below.
set -euo pipefail

# "command debian-package": the package is installed when the command is
# missing. A "-" command means check the package with dpkg -s instead.
DEPS=(
	"ip iproute2"                            # network namespaces, veth (engine/enginetest/netns)
	"transmission-daemon transmission-daemon" # interop peer (engine/enginetest/peers)
	"transmission-remote transmission-cli"   # drives hearth serve over the Transmission RPC (cmd/hearth/rpc_test.go)
	"aria2c aria2"                           # interop peer (engine/enginetest/peers)
	"mktorrent mktorrent"                    # bench/transfer.sh makes its torrent with it
	"avahi-daemon avahi-daemon"              # mDNS interop: avahi in a test namespace (device/mdns)
	"avahi-browse avahi-utils"               # avahi-browse, avahi-publish (device/mdns)
	"dbus-daemon dbus"                       # the private bus avahi-daemon needs (device/mdns)
	"qemu-arm-static qemu-user-static"       # make qemu-test: arm, aarch64, mipsel emulators, called directly (no binfmt_misc)
	"shellcheck shellcheck"                  # firmware/: init scripts (buildroot, openwrt, deb maintainer scripts)
	"systemd-analyze systemd"                # firmware/: systemd-analyze verify packaging/systemd/hearth.service
	"dpkg-deb dpkg"                          # make package and its test (always on Debian)
	"busybox busybox"                        # firmware/: S99hearth under BusyBox ash and start-stop-daemon
	"- miniupnpd-nftables"                    # a real UPnP-IGD/NAT-PMP router in a test namespace (device/natpmp, device/upnpigd)
	"nft nftables"                           # the firewall miniupnpd maps ports in
	"chromium chromium"                      # headless browser tests of the web UI and share pages (web/internal/browsertest)
	"- fonts-dejavu-core"                    # a font for chromium's screenshots (headless has none by default)
)
BENCH_DEPS=(
	"qbittorrent-nox qbittorrent-nox" # the fast seeder bench/transfer.sh can use
	"curl curl"                       # bench/transfer.sh polls its tracker and seeders
)
STATICCHECK_VERSION=v0.8.2 # honnef.co/go/tools; v0.8.2 resolves on the module proxy and supports Go 1.26

want=("${DEPS[@]}")
if [ "${1:-}" = bench ]; then
	want+=("${BENCH_DEPS[@]}")
fi

missing=()
for entry in "${want[@]}"; do
	read -r cmd pkg <<<"$entry"
	if [ "$cmd" = - ]; then
		dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
	else
		command -v "$cmd" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "test-deps: missing Debian packages: ${missing[*]}" >&2
		echo "test-deps: install them as root with:" >&2
		echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi
	echo "test-deps: installing ${missing[*]}"
	# Installing transmission-daemon must not start the system's own daemon
	# (it would hold ports 9091 and 51413): deny service starts while apt runs.
	policy_made=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		policy_made=1
	fi
	trap 'if [ -n "$policy_made" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Network namespaces: the interop tests need to create them (root, a kernel
# with netns, the ip tool). Say so plainly here rather than in a test log.
if [ "$(id -u)" = 0 ]; then
	probe="hearth-probe-$$"
	if ! ip netns add "$probe" 2>/tmp/hearth-netns-probe.err; then
		echo "test-deps: cannot create network namespaces (ip netns add): $(cat /tmp/hearth-netns-probe.err)" >&2
		echo "test-deps: the interop tests need them and will fail" >&2
		rm -f /tmp/hearth-netns-probe.err
		exit 1
	fi
	ip netns del "$probe"
	rm -f /tmp/hearth-netns-probe.err
else
	echo "test-deps: not root: tests that need network namespaces will fail under make test" >&2
fi

# staticcheck, pinned, into GOPATH/bin.
gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
if [ ! -x "$gobin/staticcheck" ] || ! "$gobin/staticcheck" -version 2>/dev/null | grep -q "(${STATICCHECK_VERSION#v})"; then
	echo "test-deps: installing staticcheck $STATICCHECK_VERSION into $gobin"
	# Outside the module so its dependencies never touch go.mod.
	(cd / && GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION")
fi
