#!/usr/bin/env bash
# Debian (.deb) and OpenWrt (.ipk) packages of hearth into dist/:
#
#   scripts/package.sh                 # amd64, arm64, armhf (armv7), mipsel
#   scripts/package.sh amd64 armhf     # only these (Debian architecture names)
#   HEARTH_VERSION=1.2.3 scripts/package.sh
#
# .deb: /usr/bin/hearth, the systemd unit (sandboxed, user "hearth", state in
# /var/lib/hearth), /etc/hearth/hearth.conf (nas profile, a conffile), and
# maintainer scripts that create the user and enable the service. Built
# with dpkg-deb.
# .ipk: /usr/bin/hearth, the procd init script /etc/init.d/hearth and the
# UCI config /etc/config/hearth (router profile, a conffile); opkg creates
# the user from Require-User. The layout of OpenWrt's ipkg-build: a
# gzipped tar of debian-binary, control.tar.gz and data.tar.gz. The OpenWrt
# architecture defaults to a common one per CPU; set OPENWRT_ARCH_<deb
# arch> (e.g. OPENWRT_ARCH_armhf=arm_cortex-a9_vfpv3-d16) for your target.
set -euo pipefail
cd "$(dirname "$0")/.."

dist=${DIST:-dist}
maintainer=${MAINTAINER:-"Hearth developers <hearth@localhost>"}

# Debian architecture → GOARCH and its variant, OpenWrt architecture.
declare -A goenv=(
	[amd64]="amd64"
	[arm64]="arm64"
	[armhf]="arm GOARM=7"
	[mipsel]="mipsle GOMIPS=softfloat"
)
declare -A owrt=(
	[amd64]="${OPENWRT_ARCH_amd64:-x86_64}"
	[arm64]="${OPENWRT_ARCH_arm64:-aarch64_cortex-a53}"
	[armhf]="${OPENWRT_ARCH_armhf:-arm_cortex-a7_neon-vfpv4}"
	[mipsel]="${OPENWRT_ARCH_mipsel:-mipsel_24kc}"
)
arches=("$@")
if [ ${#arches[@]} -eq 0 ]; then
	arches=(amd64 arm64 armhf mipsel)
fi
for a in "${arches[@]}"; do
	if [ -z "${goenv[$a]:-}" ]; then
		echo "package: unknown architecture $a (known: ${!goenv[*]})" >&2
		exit 2
	fi
done
command -v dpkg-deb >/dev/null || {
	echo "package: dpkg-deb not found (Debian's dpkg package)" >&2
	exit 1
}

# A Debian version must start with a digit and has no "-" (no revision).
version=${HEARTH_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
pkgversion=${version#v}
case "$pkgversion" in
[0-9]*.[0-9]*) ;; # a release tag: 1.2.3, 1.2.3-4-gabcdef
*) pkgversion="0.0~git$(date -u +%Y%m%d).$pkgversion" ;;
esac
pkgversion=$(printf '%s' "$pkgversion" | tr -- '-_' '+.' | tr -cd 'A-Za-z0-9.+~')

description="BitTorrent media hub for NAS boxes, routers and TVs
 Hearth downloads and seeds torrents, shares a household's media between
 its devices through the BitTorrent swarm and the DHT, and serves a web UI
 and an API (also Transmission's RPC). One static binary."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$dist"

for a in "${arches[@]}"; do
	read -r goarch variant <<<"${goenv[$a]}"
	bin="$work/hearth-$a"
	echo "package: building hearth $version for $a" >&2
	env GOOS=linux GOARCH="$goarch" ${variant:+"$variant"} HEARTH_VERSION="$version" scripts/build.sh "$bin"

	# --- .deb ---
	root="$work/deb-$a"
	install -D -m 0755 "$bin" "$root/usr/bin/hearth"
	install -D -m 0644 packaging/systemd/hearth.service "$root/lib/systemd/system/hearth.service"
	install -D -m 0644 packaging/deb/hearth.conf "$root/etc/hearth/hearth.conf"
	install -D -m 0644 packaging/deb/copyright "$root/usr/share/doc/hearth/copyright"
	install -D -m 0644 docs/install.md "$root/usr/share/doc/hearth/install.md"
	mkdir -p "$root/DEBIAN"
	for s in postinst prerm postrm; do
		install -m 0755 "packaging/deb/$s" "$root/DEBIAN/$s"
	done
	echo /etc/hearth/hearth.conf >"$root/DEBIAN/conffiles"
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	cat >"$root/DEBIAN/control" <<CONTROL
Package: hearth
Version: $pkgversion
Architecture: $a
Maintainer: $maintainer
Installed-Size: $size
Section: net
Priority: optional
Homepage: https://github.com/hearth-media/hearth
Description: $description
CONTROL
	deb="$dist/hearth_${pkgversion}_$a.deb"
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null

	# --- .ipk ---
	oarch=${owrt[$a]}
	ipk="$work/ipk-$a"
	install -D -m 0755 "$bin" "$ipk/data/usr/bin/hearth"
	install -D -m 0755 packaging/openwrt/hearth.init "$ipk/data/etc/init.d/hearth"
	install -D -m 0644 packaging/openwrt/hearth.config "$ipk/data/etc/config/hearth"
	mkdir -p "$ipk/control"
	install -m 0755 packaging/openwrt/postinst "$ipk/control/postinst"
	install -m 0755 packaging/openwrt/prerm "$ipk/control/prerm"
	echo /etc/config/hearth >"$ipk/control/conffiles"
	cat >"$ipk/control/control" <<CONTROL
Package: hearth
Version: $pkgversion
Source: hearth
SourceName: hearth
Section: net
Require-User: hearth:hearth
Architecture: $oarch
Installed-Size: $(stat -c %s "$bin")
Maintainer: $maintainer
Description: $description
CONTROL
	echo 2.0 >"$ipk/debian-binary"
	tarflags=(--format=gnu --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0)
	(cd "$ipk/control" && tar "${tarflags[@]}" -cf - . | gzip -n -9 >"$ipk/control.tar.gz")
	(cd "$ipk/data" && tar "${tarflags[@]}" -cf - . | gzip -n -9 >"$ipk/data.tar.gz")
	out="$dist/hearth_${pkgversion}_$oarch.ipk"
	(cd "$ipk" && tar "${tarflags[@]}" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -n -9) >"$out"

	printf 'package: %-40s %s\n' "$deb" "$(du -h "$deb" | cut -f1)"
	printf 'package: %-40s %s\n' "$out" "$(du -h "$out" | cut -f1)"
done
