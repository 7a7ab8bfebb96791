#!/usr/bin/env bash
# Downloads across a veth pair between network namespaces, by each leecher
# in turn, from one fast seeder, for each case: one big file ("single") and
# many small files ("multi"). For each download: MB/s, peak RSS (VmHWM, and
# RssAnon/RssFile at the largest sampled VmRSS), CPU seconds of the leecher
# process, and whether the data matches (sha256 of every file).
# Prints and appends to bench/results/transfer-<date>.txt. Needs root. See
# bench/README.md.
#
#   bench/transfer.sh                          # the whole matrix (long)
#   CASES=single SIZE_MIB=64 LEECHERS="hearth transmission" bench/transfer.sh
#
# Environment:
#   CASES      space-separated: single multi (default both)
#   SIZE_MIB   the single file's size in MiB (default 1024)
#   FILES, FILE_MIB  the multi case: FILES files of FILE_MIB MiB (200, 5)
#   SEEDER     qbittorrent (default), aria2 or transmission
#   LEECHERS   space-separated, in order: hearth-router hearth-nas
#              transmission qbittorrent aria2, or hearth (= hearth with
#              HEARTH_PROFILE) (default "hearth-router hearth-nas
#              transmission qbittorrent")
#   ARIA2_ARGS extra options for the aria2 leecher
#   QBT_DISK_IO  the qbittorrent leecher's Session\DiskIOType (Default, MMap,
#              Posix; default Default, which is mmap with libtorrent 2)
#   HEARTH     a hearth binary to use instead of building ./cmd/hearth
#   HEARTH_PROFILE  the profile of a plain "hearth" leecher (default router)
#   TIMEOUT    seconds one download may take (default 300)
#   ROWS       append one tab-separated line per download to this file
#   KEEP=1     keep the work directory (logs, data) after the run
#
# Network: every address used is 10.213.0.x inside namespaces this script
# creates (hb-<pid>-*); they have no route anywhere else, and the host's
# interfaces and routes are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
# libcurl (transmission, curl) must talk to the namespaces directly.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

CASES=${CASES:-single multi}
SIZE_MIB=${SIZE_MIB:-1024}
FILES=${FILES:-200}
FILE_MIB=${FILE_MIB:-5}
SEEDER=${SEEDER:-qbittorrent}
LEECHERS=${LEECHERS:-hearth-router hearth-nas transmission qbittorrent}
TIMEOUT=${TIMEOUT:-300}
HEARTH_PROFILE=${HEARTH_PROFILE:-router}

die() { echo "transfer.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for v in "$SIZE_MIB" "$FILES" "$FILE_MIB" "$TIMEOUT"; do
	case $v in '' | *[!0-9]*) die "SIZE_MIB, FILES, FILE_MIB and TIMEOUT must be numbers" ;; esac
done
for c in $CASES; do case $c in single | multi) ;; *) die "unknown case $c (single, multi)" ;; esac; done
scripts/test-deps.sh bench >&2

WORK=$(mktemp -d /tmp/hearth-bench.XXXXXX)
NS_PREFIX="hb-$$"
SEED_NS="$NS_PREFIX-seed"
TRACKER_ADDR=10.213.0.1 # the seed namespace's bridge: seeder and tracker
TRACKER_PORT=6969
ANNOUNCE="http://$TRACKER_ADDR:$TRACKER_PORT/announce"
CLK_TCK=$(getconf CLK_TCK)
PIDS=()
NAMESPACES=()

cleanup() {
	local rc=$?
	set +e
	if [ "${KEEP:-}" = 1 ] || [ $rc != 0 ]; then
		echo "transfer.sh: work directory kept: $WORK" >&2
	fi
	exec 2>/dev/null # bash's "Killed" notices for our own background jobs
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	for ns in "${NAMESPACES[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	wait
	if [ "${KEEP:-}" != 1 ] && [ $rc = 0 ]; then
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT INT TERM

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
elapsed_over() { awk -v s="$1" -v n="$(now)" -v l="$2" 'BEGIN { exit !(n - s > l) }'; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.1 s.
wait_for() {
	local limit=$1 what=$2 start
	shift 2
	start=$(now)
	until "$@" >/dev/null 2>&1; do
		elapsed_over "$start" "$limit" && die "timed out after ${limit}s waiting for $what"
		sleep 0.1
	done
}

# alive PID: the process exists and is not a zombie.
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*zombie' "/proc/$1/status" 2>/dev/null; }

# Memory and CPU of the leecher, sampled while it works. VmHWM is the
# kernel's peak; anon and file are RssAnon and RssFile at the sample with
# the largest VmRSS (the split at the peak itself is not recorded by the
# kernel). CPU is utime+stime of the process (all its threads).
reset_sample() { S_RSS=0 S_ANON=0 S_FILE=0 S_HWM=0 S_CPU=0; }
sample() {
	local pid=$1 line rss anon file hwm
	line=$(awk '$1 == "VmRSS:" {r = $2} $1 == "RssAnon:" {a = $2} $1 == "RssFile:" {f = $2} $1 == "VmHWM:" {h = $2}
		END {print r + 0, a + 0, f + 0, h + 0}' "/proc/$pid/status" 2>/dev/null) || return 0
	read -r rss anon file hwm <<<"$line"
	[ "$hwm" -gt 0 ] || return 0
	S_HWM=$hwm
	if [ "$rss" -gt "$S_RSS" ]; then S_RSS=$rss S_ANON=$anon S_FILE=$file; fi
	line=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || return 0
	# shellcheck disable=SC2086 # split /proc/PID/stat into fields
	set -- $line
	[ $# -ge 13 ] && S_CPU=$((${12} + ${13}))
}

# watch PID COMMAND...: sample PID every 0.2 s until COMMAND succeeds
# (return 0) or TIMEOUT passes (return 1). Samples once more at the end.
watch() {
	local pid=$1 start
	shift
	start=$(now)
	while :; do
		sample "$pid"
		if "$@" >/dev/null 2>&1; then sample "$pid"; return 0; fi
		elapsed_over "$start" "$TIMEOUT" && return 1
		sleep 0.2
	done
}

new_ns() {
	ip netns add "$1"
	NAMESPACES+=("$1")
	ip -n "$1" link set lo up
}

# link_leecher NS N: a veth pair from NS (address 10.213.0.N/16) to the
# bridge in the seed namespace. A bridge rather than one routed subnet per
# leecher because qbittorrent-nox binds its listeners to each interface.
link_leecher() {
	local ns=$1 n=$2
	ip link add "hb$n-s" netns "$SEED_NS" type veth peer name "hb$n-l" netns "$ns"
	ip -n "$SEED_NS" link set "hb$n-s" master hbbr0 up
	ip -n "$ns" addr add "10.213.0.$n/16" dev "hb$n-l"
	ip -n "$ns" link set "hb$n-l" up
}

# start NS LOG PROGRAM ARGS...: start in the background, inside NS; sets PID
# (ip netns exec execs in place, so PID is the program's own).
start() {
	local ns=$1 logf=$2
	shift 2
	ip netns exec "$ns" "$@" >"$logf" 2>&1 &
	PID=$!
	PIDS+=("$PID")
}

stop() { { kill -KILL "$1" && wait "$1"; } 2>/dev/null || true; }

infohash() { transmission-show "$1" | awk '/^ *Hash:/ && !h {h = $2} END {print h}'; } # reads all: no SIGPIPE under pipefail

# ---------------------------------------------------------------- payloads
log "building tracker"
CGO_ENABLED=0 go build -o "$WORK/tracker" ./bench/cmd/tracker
mkdir -p "$WORK/seed/data"
declare -A TORRENT INFOHASH BYTES DESC
for c in $CASES; do
	case $c in
	single)
		log "writing $SIZE_MIB MiB of random data, one file"
		mkdir -p "$WORK/seed/data/payload"
		head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$WORK/seed/data/payload/payload.bin"
		exp=18
		[ "$SIZE_MIB" -ge 256 ] && exp=20
		mktorrent -l "$exp" -a "$ANNOUNCE" -o "$WORK/single.torrent" "$WORK/seed/data/payload" >/dev/null
		BYTES[single]=$((SIZE_MIB * 1024 * 1024))
		DESC[single]="$SIZE_MIB MiB, one file, 2^$exp-byte pieces"
		;;
	multi)
		log "writing $FILES files of $FILE_MIB MiB of random data"
		mkdir -p "$WORK/seed/data/photos"
		for i in $(seq -w 1 "$FILES"); do
			head -c "$((FILE_MIB * 1024 * 1024))" /dev/urandom >"$WORK/seed/data/photos/IMG_$i.jpg"
		done
		exp=20
		[ $((FILES * FILE_MIB)) -lt 256 ] && exp=18
		mktorrent -l "$exp" -a "$ANNOUNCE" -o "$WORK/multi.torrent" "$WORK/seed/data/photos" >/dev/null
		BYTES[multi]=$((FILES * FILE_MIB * 1024 * 1024))
		DESC[multi]="$FILES files of $FILE_MIB MiB, 2^$exp-byte pieces"
		;;
	esac
	TORRENT[$c]="$WORK/$c.torrent"
	INFOHASH[$c]=$(infohash "${TORRENT[$c]}")
	[ ${#INFOHASH[$c]} = 40 ] || die "could not read the infohash of ${TORRENT[$c]}"
done
log "sha256 of the payloads"
(cd "$WORK/seed/data" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$WORK/manifest.all"
TORRENTS=()
for c in $CASES; do TORRENTS+=("${TORRENT[$c]}"); done

# verify CASE DIR: every file of CASE under DIR has the seeder's sha256.
verify() {
	local top=payload
	[ "$1" = multi ] && top=photos
	grep " \./$top/" "$WORK/manifest.all" >"$WORK/manifest.$1"
	(cd "$2" && sha256sum --quiet -c "$WORK/manifest.$1") >/dev/null 2>&1
}

# ---------------------------------------------------------------- seed side
new_ns "$SEED_NS"
# A fixed MAC: a bridge otherwise takes its lowest port's, which changes as
# leechers join and leaves the earlier ones with stale ARP entries.
ip -n "$SEED_NS" link add hbbr0 address 02:68:62:00:00:01 type bridge
ip -n "$SEED_NS" addr add "$TRACKER_ADDR/16" dev hbbr0
ip -n "$SEED_NS" link set hbbr0 up
# Every leecher's namespace and link exist before the seeder starts: it then
# sees a bridge with carrier and listens on its address. One namespace (one
# address) per case and leecher: no client meets a peer it saw before.
n=1
for c in $CASES; do
	for leecher in $LEECHERS; do
		n=$((n + 1))
		new_ns "$NS_PREFIX-$n"
		link_leecher "$NS_PREFIX-$n" "$n"
	done
done
start "$SEED_NS" "$WORK/tracker.log" "$WORK/tracker" -listen "$TRACKER_ADDR:$TRACKER_PORT" -interval 5s
peers_known() { in_ns "$SEED_NS" curl -sf "http://$TRACKER_ADDR:$TRACKER_PORT/peers?info_hash=$1"; }
wait_for 10 "the tracker" peers_known "${INFOHASH[${CASES%% *}]}"

seeder_known() {
	local c
	for c in $CASES; do peers_known "${INFOHASH[$c]}" | grep -q seeder || return 1; done
}

write_transmission_settings() { # DIR PEER_PORT RPC_PORT DOWNLOAD_DIR
	mkdir -p "$1"
	cat >"$1/settings.json" <<-EOF
		{
		  "alt-speed-enabled": false, "blocklist-enabled": false, "dht-enabled": false,
		  "download-dir": "$4", "download-queue-enabled": false, "seed-queue-enabled": false,
		  "idle-seeding-limit-enabled": false, "ratio-limit-enabled": false,
		  "incomplete-dir-enabled": false, "lpd-enabled": false, "pex-enabled": false,
		  "port-forwarding-enabled": false, "utp-enabled": false, "message-level": 1,
		  "peer-port": $2, "peer-port-random-on-start": false,
		  "rpc-enabled": true, "rpc-bind-address": "127.0.0.1", "rpc-port": $3,
		  "rpc-authentication-required": false, "rpc-whitelist": "127.0.0.1",
		  "rpc-host-whitelist-enabled": false, "rename-partial-files": false,
		  "speed-limit-down-enabled": false, "speed-limit-up-enabled": false,
		  "start-added-torrents": true, "watch-dir-enabled": false, "queue-stalled-enabled": false
		}
	EOF
}

# qbittorrent-nox headless: the legal notice accepted, the WebUI on the
# namespace's own loopback without authentication (LocalHostAuth=false),
# DHT, LSD, PeX, UPnP off; TCP only, like every other client here (two
# qbittorrent-nox 4.5.2 talk uTP to each other by default, and that ran at
# 4-6 MB/s over the veth where TCP runs at 100+). DISK_IO, when given, is its Session\DiskIOType
# (4.5: Default = mmap with libtorrent 2, MMap, Posix).
write_qbittorrent_config() { # PROFILE PEER_PORT WEBUI_PORT SAVE_PATH [DISK_IO]
	mkdir -p "$1/qBittorrent/config"
	cat >"$1/qBittorrent/config/qBittorrent.conf" <<-EOF
		[LegalNotice]
		Accepted=true

		[BitTorrent]
		Session\DHTEnabled=false
		Session\LSDEnabled=false
		Session\PeXEnabled=false
		Session\Port=$2
		Session\DefaultSavePath=$4
		Session\QueueingSystemEnabled=false
		Session\GlobalMaxRatio=-1
		Session\AddTorrentPaused=false
		Session\DiskIOType=${5:-Default}
		Session\BTProtocol=TCP

		[Network]
		PortForwardingEnabled=false

		[Preferences]
		Connection\UPnP=false
		Connection\ResolvePeerCountries=false
		General\UseRandomPort=false
		WebUI\Address=127.0.0.1
		WebUI\Port=$3
		WebUI\LocalHostAuth=false
		WebUI\CSRFProtection=false
		WebUI\HostHeaderValidation=false
	EOF
}

ARIA2_COMMON=(--no-conf --enable-dht=false --enable-dht6=false --bt-enable-lpd=false
	--enable-peer-exchange=false --disable-ipv6=true --file-allocation=none
	--summary-interval=0 --console-log-level=warn --auto-file-renaming=false
	--allow-overwrite=true --bt-save-metadata=false --auto-save-interval=0)

log "seeder: $SEEDER"
case $SEEDER in
qbittorrent)
	write_qbittorrent_config "$WORK/seed/qbt" 51413 8081 "$WORK/seed/data"
	start "$SEED_NS" "$WORK/seed.log" qbittorrent-nox --profile="$WORK/seed/qbt" \
		--save-path="$WORK/seed/data" --skip-hash-check "${TORRENTS[@]}"
	;;
aria2)
	start "$SEED_NS" "$WORK/seed.log" aria2c "${ARIA2_COMMON[@]}" --listen-port=51413 \
		--seed-ratio=0 --check-integrity=true --bt-hash-check-seed=true -d "$WORK/seed/data" "${TORRENTS[@]}"
	;;
transmission)
	write_transmission_settings "$WORK/seed/tr" 51413 9091 "$WORK/seed/data"
	start "$SEED_NS" "$WORK/seed.log" transmission-daemon -f -g "$WORK/seed/tr"
	wait_for 20 "the transmission seeder's RPC" in_ns "$SEED_NS" transmission-remote 127.0.0.1:9091 -l
	for t in "${TORRENTS[@]}"; do
		in_ns "$SEED_NS" transmission-remote 127.0.0.1:9091 -a "$t" -w "$WORK/seed/data" >/dev/null
	done
	;;
*) die "SEEDER must be qbittorrent, aria2 or transmission" ;;
esac
SEED_PID=$PID
wait_for 300 "the seeder to announce itself as a seeder" seeder_known
log "seeder ready (pid $SEED_PID)"

HEARTH_BIN=""
hearth_bin() {
	if [ -z "$HEARTH_BIN" ]; then
		HEARTH_BIN=${HEARTH:-$WORK/hearth}
		if [ -z "${HEARTH:-}" ]; then
			log "building hearth"
			CGO_ENABLED=0 go build -o "$HEARTH_BIN" ./cmd/hearth || return 1
		fi
	fi
}

# ---------------------------------------------------------------- leechers
RESULTS=()
FAILED=0
n=1
for c in $CASES; do
	torrent=${TORRENT[$c]}
	ih=${INFOHASH[$c]}
	for leecher in $LEECHERS; do
		n=$((n + 1))
		ns="$NS_PREFIX-$n"
		dir="$WORK/$n-$c-$leecher"
		mkdir -p "$dir/down"
		log "$c: leecher $leecher in $ns (10.213.0.$n)"
		status=ok
		t0="" t1=""
		reset_sample
		case $leecher in
		hearth | hearth-*)
			profile=${leecher#hearth-}
			[ "$profile" = hearth ] && profile=$HEARTH_PROFILE
			if ! hearth_bin; then
				status="build-failed"
			else
				# The profile as shipped, except DHT and IPv6 off like
				# every other client here (no DHT node could be reached anyway).
				start "$ns" "$dir/serve.log" env TORRENT_STORAGE_DEFAULT_FILE_IO=classic \
					HEARTH_TORRENT_DHT=false HEARTH_TORRENT_IPV6=false \
					"$HEARTH_BIN" serve --data-dir "$dir/data" --listen 127.0.0.1:9092 --peer-port 51413 --profile "$profile"
				pid=$PID
				if ! (wait_for 30 "hearth's API" in_ns "$ns" curl -s -o /dev/null http://127.0.0.1:9092/); then
					status="no-api"
				else
					t0=$(now)
					start "$ns" "$dir/add.log" "$HEARTH_BIN" add --api http://127.0.0.1:9092 --wait --dir "$dir/down" "$torrent"
					add=$PID
					if watch "$pid" eval '! alive '"$add"; then
						t1=$(now)
						rc=0
						wait "$add" || rc=$?
						[ $rc = 0 ] || status="add-failed (exit $rc)"
					else
						status="timeout after ${TIMEOUT}s: $(grep -o 'downloading [0-9.]*%' "$dir/add.log" | tail -1)"
						stop "$add"
					fi
				fi
				stop "$pid"
			fi
			;;
		transmission)
			write_transmission_settings "$dir/tr" 51413 9091 "$dir/down"
			start "$ns" "$dir/daemon.log" transmission-daemon -f -g "$dir/tr"
			pid=$PID
			wait_for 20 "transmission's RPC" in_ns "$ns" transmission-remote 127.0.0.1:9091 -l
			done_tr() { in_ns "$ns" transmission-remote 127.0.0.1:9091 -t 1 -i | grep -q 'Percent Done: 100%'; }
			t0=$(now)
			in_ns "$ns" transmission-remote 127.0.0.1:9091 -a "$torrent" -w "$dir/down" >/dev/null
			if watch "$pid" done_tr; then t1=$(now); else status=timeout; fi
			stop "$pid"
			;;
		aria2)
			t0=$(now)
			# shellcheck disable=SC2086 # ARIA2_ARGS is a list of options
			start "$ns" "$dir/aria2.log" aria2c "${ARIA2_COMMON[@]}" --listen-port=51413 --seed-time=0 \
				--check-integrity=false ${ARIA2_ARGS:-} -d "$dir/down" "$torrent"
			pid=$PID
			# aria2c exits when done (~1-2 s after the data is complete).
			if watch "$pid" eval '! alive '"$pid"; then
				t1=$(now)
				rc=0
				wait "$pid" || rc=$?
				[ $rc = 0 ] || status="exit-$rc"
			else
				stop "$pid"
				status=timeout
			fi
			;;
		qbittorrent)
			write_qbittorrent_config "$dir/qbt" 51413 8082 "$dir/down" "${QBT_DISK_IO:-}"
			t0=$(now)
			start "$ns" "$dir/qbt.log" qbittorrent-nox --profile="$dir/qbt" --save-path="$dir/down" "$torrent"
			pid=$PID
			done_qbt() { in_ns "$ns" curl -sf "http://127.0.0.1:8082/api/v2/torrents/info?hashes=$ih" | grep -q '"progress":1[,}]'; }
			if watch "$pid" done_qbt; then t1=$(now); else status=timeout; fi
			log "qbittorrent $(in_ns "$ns" curl -sf http://127.0.0.1:8082/api/v2/app/preferences | grep -o '"disk_io_type":[0-9]*' || echo 'disk_io_type unknown') (0 default, 1 mmap, 2 posix)"
			stop "$pid"
			;;
		*) die "unknown leecher $leecher" ;;
		esac
		cpu=$(awk -v t="$S_CPU" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t / hz}')
		load=$(cut -d' ' -f1-3 /proc/loadavg)
		if [ "$status" = ok ] && ! verify "$c" "$dir/down"; then status=corrupt; fi
		if [ "$status" = ok ]; then
			secs=$(awk -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.1f", t1 - t0}')
			mbps=$(awk -v b="${BYTES[$c]}" -v s="$secs" 'BEGIN {printf "%.1f", b / s / 1e6}')
			verified=yes
		else
			secs=- mbps=- verified=NO
			FAILED=1
		fi
		mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
		line=$(printf '%-6s %-14s %7s s %7s MB/s  peak %7s MiB (anon %6s + file %7s at peak)  cpu %6s s  verified=%s  load %s' \
			"$c" "$leecher" "$secs" "$mbps" "$(mib "$S_HWM")" "$(mib "$S_ANON")" "$(mib "$S_FILE")" "$cpu" "$verified" "$load")
		[ "$status" = ok ] || line="$line  $status (logs in $dir)"
		log "$line"
		RESULTS+=("$line")
		if [ -n "${ROWS:-}" ]; then
			printf 'transfer\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$leecher" "$secs" "$mbps" \
				"$(mib "$S_HWM")" "$(mib "$S_ANON")" "$(mib "$S_FILE")" "$cpu" "$verified" "$load" "$status" >>"$ROWS"
		fi
		rm -rf "$dir/down" "$dir/data"
	done
done

# ---------------------------------------------------------------- report
mkdir -p bench/results
out="bench/results/transfer-$(date +%F).txt"
{
	echo "# bench/transfer.sh $(date -Is)  git $(git describe --always --dirty 2>/dev/null || echo '?')"
	for c in $CASES; do echo "# $c: ${DESC[$c]}"; done
	echo "# over a veth pair; seeder: $SEEDER ($(uname -r), $(nproc) cores, shared machine: load averages per line)"
	echo "# time from add to complete; MB = 10^6 bytes; peak = VmHWM; anon/file = RssAnon/RssFile at the largest sampled VmRSS; cpu = utime+stime"
	printf '%s\n' "${RESULTS[@]}"
	echo
} | tee -a "$out"
log "appended to $out"
[ "$FAILED" = 0 ] # the exit status: 1 if any download failed
