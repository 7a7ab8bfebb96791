#!/usr/bin/env bash
# Writes the measured part of bench/RESULTS.md from the rows that
# bench/transfer.sh and bench/daemon.sh append to ROWS (tab-separated):
# everything between the "bench:begin" and "bench:end" markers is replaced,
# the hand-written analysis around them is kept.
#
#   bench/report.sh ROWS [MACHINE_NOTES]
#
# QBT_REF_MBPS (default 245, issue 9's measurement of qbittorrent-nox
# leeching 1 GiB over a veth; 0 = none) adds a goal row against that figure,
# for runs where qbittorrent-nox itself is slow.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:?usage: bench/report.sh ROWS [MACHINE_NOTES]}
notes=${2:-}
md=bench/RESULTS.md
begin='<!-- bench:begin (written by bench/report.sh; edit outside these markers) -->'
end='<!-- bench:end -->'

gen=$(mktemp)
trap 'rm -f "$gen"' EXIT
{
	echo "$begin"
	echo
	echo "Rows \`$rows\`, report written $(date -u "+%F %H:%M UTC"), git $(git describe --always --dirty 2>/dev/null || echo "?"):"
	echo "$(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)),"
	echo "$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r)."
	echo "**A shared machine**: other jobs ran at the same time; each row carries the"
	echo "1/5/15-minute load averages at its end."
	[ -n "$notes" ] && printf '\n%s\n' "$notes"
	echo
	awk -F'\t' '
	$1 == "transfer" {
		c = $2
		if (!(c in seen)) { seen[c] = 1; order[++n] = c }
		t[c] = t[c] sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $3, $4, $5, $6, $7, $8, $9, ($10 == "yes" ? "sha256 ok" : "**NO** (" $12 ")"), $11)
	}
	END {
		for (i = 1; i <= n; i++) {
			c = order[i]
			printf "### Transfer, case %s (%s)\n\n", c, (c == "single" ? "one big file" : "many small files")
			print "| leecher | s | MB/s | peak RSS (VmHWM) MiB | anon at peak MiB | file at peak MiB | CPU s | data | load 1/5/15 |"
			print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
			printf "%s\n", t[c]
		}
	}' "$rows"
	if grep -q '^daemon' "$rows"; then
		echo "### The daemon at rest (hearth serve, router profile)"
		echo
		echo "| measure | value | notes |"
		echo "| --- | ---: | --- |"
		awk -F'\t' '$1 == "daemon" {printf "| %s | %s %s | %s |\n", $2, $3, $4, $5}' "$rows"
		echo
	fi
	echo "### Goals (issue 9)"
	echo
	echo "| goal | measured | met |"
	echo "| --- | --- | --- |"
	awk -F'\t' -v ref="${QBT_REF_MBPS:-245}" '
	function yn(b) { return b ? "yes" : "**no**" }
	$1 == "transfer" && $10 == "yes" { mbps[$2, $3] = $5; hwm[$2, $3] = $6; af[$2, $3] = $7 + $8; cases[$2] = 1 }
	$1 == "daemon" && $2 ~ /^idle RSS, (0|100) torrents$/ { idle[$2] = $3 }
	$1 == "daemon" && $2 ~ /none checking/ { startup = $3 }
	$1 == "daemon" && $2 ~ /^bytes hashed at start-up/ { hashed = $3 }
	END {
		for (c in cases) for (l = 0; l < 2; l++) {
			h = (l ? "hearth-nas" : "hearth-router")
			if (!((c, h) in mbps) || !((c, "qbittorrent") in mbps)) continue
			printf "| %s: %s throughput >= qbittorrent-nox (this run) | %s vs %s MB/s | %s |\n", c, h, mbps[c, h], mbps[c, "qbittorrent"], yn(mbps[c, h] + 0 >= mbps[c, "qbittorrent"] + 0)
			if (ref > 0)
				printf "| %s: %s throughput >= qbittorrent-nox (issue 9 reference, %s MB/s) | %s vs %s MB/s | %s |\n", c, h, ref, mbps[c, h], ref, yn(mbps[c, h] + 0 >= ref)
			if ((c, "transmission") in mbps)
				printf "| %s: %s >= 10x transmission-daemon | %s vs 10 x %s MB/s | %s |\n", c, h, mbps[c, h], mbps[c, "transmission"], yn(mbps[c, h] + 0 >= 10 * mbps[c, "transmission"])
		}
		if (("single", "hearth-router") in hwm)
			printf "| single: router peak RSS <= 48 MiB | VmHWM %s MiB; anon+file at peak sample %.1f MiB | %s |\n", hwm["single", "hearth-router"], af["single", "hearth-router"], yn(hwm["single", "hearth-router"] + 0 <= 48)
		for (k in idle)
			printf "| %s <= 24 MiB | %s MiB | %s |\n", k, idle[k], yn(idle[k] + 0 <= 24)
		if (startup != "")
			printf "| start-up with 1,000 torrents <= 2 s, no re-hash | %s s, %s bytes hashed | %s |\n", startup, hashed, yn(startup + 0 <= 2 && hashed + 0 == 0)
	}' "$rows" | sort
	echo
	echo "$end"
} >"$gen"

if [ -f "$md" ] && grep -qF "$begin" "$md" && grep -qF "$end" "$md"; then
	awk -v b="$begin" -v e="$end" -v g="$gen" '
		$0 == b { while ((getline l < g) > 0) print l; skip = 1; next }
		$0 == e { skip = 0; next }
		!skip' "$md" >"$md.new"
	mv "$md.new" "$md"
else
	{
		echo "# Benchmark results"
		echo
		echo "Written by \`make bench\` (bench/report.sh); see bench/README.md."
		echo
		cat "$gen"
	} >"$md"
fi
echo "wrote $md"
