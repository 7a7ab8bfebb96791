#!/usr/bin/env bash
# One download of SIZE_MIB (default 1024) random bytes across a veth pair
# between network namespaces, by each leecher in turn, from one fast seeder.
# Prints and appends to bench/results/transfer-<date>.txt each leecher's
# throughput and peak RSS. Needs root. See bench/README.md.
#
#   bench/transfer.sh                          # 1 GiB, hearth and transmission
#   SIZE_MIB=64 LEECHERS="transmission aria2" bench/transfer.sh
#
# Environment:
#   SIZE_MIB   payload size in MiB (default 1024)
#   SEEDER     aria2 (default: fastest measured), qbittorrent or transmission
#   LEECHERS   space-separated, in order: hearth transmission aria2 qbittorrent
#              (default "hearth transmission")
#   ARIA2_ARGS extra options for the aria2 leecher
#   HEARTH     a hearth binary to use instead of building ./cmd/hearth
#   HEARTH_PROFILE  the device profile hearth runs with (default router)
#   TIMEOUT    seconds one leecher may take (default 600)
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

SIZE_MIB=${SIZE_MIB:-1024}
SEEDER=${SEEDER:-aria2}
LEECHERS=${LEECHERS:-hearth transmission}
TIMEOUT=${TIMEOUT:-600}
HEARTH_PROFILE=${HEARTH_PROFILE:-router}

die() { echo "transfer.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
case $SIZE_MIB in '' | *[!0-9]*) die "SIZE_MIB must be a number of MiB" ;; esac
scripts/test-deps.sh bench >&2

WORK=$(mktemp -d /tmp/hearth-bench.XXXXXX)
NS_PREFIX="hb-$$"
SEED_NS="$NS_PREFIX-seed"
TRACKER_ADDR=10.213.0.1 # the seed namespace's bridge: seeder and tracker
TRACKER_PORT=6969
ANNOUNCE="http://$TRACKER_ADDR:$TRACKER_PORT/announce"
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

# peak_rss PID: VmHWM in KiB.
peak_rss() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.1 s.
wait_for() {
	local limit=$1 what=$2 start
	shift 2
	start=$(now)
	until "$@" >/dev/null 2>&1; do
		if awk -v s="$start" -v n="$(now)" -v l="$limit" 'BEGIN { exit !(n - s > l) }'; then
			die "timed out after ${limit}s waiting for $what"
		fi
		sleep 0.1
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

# start NS LOG PROGRAM ARGS...: start in the background, inside NS; sets PID.
start() {
	local ns=$1 logf=$2
	shift 2
	ip netns exec "$ns" "$@" >"$logf" 2>&1 &
	PID=$!
	PIDS+=("$PID")
}

stop() { { kill -KILL "$1" && wait "$1"; } 2>/dev/null || true; }

# ---------------------------------------------------------------- payload
log "building tracker"
CGO_ENABLED=0 go build -o "$WORK/tracker" ./bench/cmd/tracker
mkdir -p "$WORK/seed/data/payload"
log "writing $SIZE_MIB MiB of random data"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$WORK/seed/data/payload/payload.bin"
PIECE_EXP=18
[ "$SIZE_MIB" -ge 256 ] && PIECE_EXP=20
mktorrent -l "$PIECE_EXP" -a "$ANNOUNCE" -o "$WORK/payload.torrent" "$WORK/seed/data/payload" >/dev/null
INFOHASH=$(transmission-show "$WORK/payload.torrent" | awk '/^ *Hash:/ {print $2; exit}')
[ ${#INFOHASH} = 40 ] || die "could not read the infohash of $WORK/payload.torrent"
TORRENT="$WORK/payload.torrent"
BYTES=$((SIZE_MIB * 1024 * 1024))

# ---------------------------------------------------------------- seed side
new_ns "$SEED_NS"
# A fixed MAC: a bridge otherwise takes its lowest port's, which changes as
# leechers join and leaves the earlier ones with stale ARP entries.
ip -n "$SEED_NS" link add hbbr0 address 02:68:62:00:00:01 type bridge
ip -n "$SEED_NS" addr add "$TRACKER_ADDR/16" dev hbbr0
ip -n "$SEED_NS" link set hbbr0 up
# Every leecher's namespace and link exist before the seeder starts: it then
# sees a bridge with carrier and listens on its address.
n=1
for leecher in $LEECHERS; do
	n=$((n + 1))
	new_ns "$NS_PREFIX-$n-$leecher"
	link_leecher "$NS_PREFIX-$n-$leecher" "$n"
done
start "$SEED_NS" "$WORK/tracker.log" "$WORK/tracker" -listen "$TRACKER_ADDR:$TRACKER_PORT" -interval 5s
peers_known() { in_ns "$SEED_NS" curl -sf "http://$TRACKER_ADDR:$TRACKER_PORT/peers?info_hash=$INFOHASH"; }
wait_for 10 "the tracker" peers_known

seeder_known() { peers_known | grep -q seeder; }

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

write_qbittorrent_config() { # PROFILE PEER_PORT WEBUI_PORT SAVE_PATH
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
		--save-path="$WORK/seed/data" --skip-hash-check "$TORRENT"
	;;
aria2)
	start "$SEED_NS" "$WORK/seed.log" aria2c "${ARIA2_COMMON[@]}" --listen-port=51413 \
		--seed-ratio=0 --check-integrity=true --bt-hash-check-seed=true -d "$WORK/seed/data" "$TORRENT"
	;;
transmission)
	write_transmission_settings "$WORK/seed/tr" 51413 9091 "$WORK/seed/data"
	start "$SEED_NS" "$WORK/seed.log" transmission-daemon -f -g "$WORK/seed/tr"
	wait_for 20 "the transmission seeder's RPC" in_ns "$SEED_NS" transmission-remote 127.0.0.1:9091 -l
	in_ns "$SEED_NS" transmission-remote 127.0.0.1:9091 -a "$TORRENT" -w "$WORK/seed/data" >/dev/null
	;;
*) die "SEEDER must be qbittorrent, aria2 or transmission" ;;
esac
SEED_PID=$PID
wait_for 300 "the seeder to announce itself as a seeder" seeder_known
log "seeder ready (pid $SEED_PID)"

# ---------------------------------------------------------------- leechers
RESULTS=()
n=1
for leecher in $LEECHERS; do
	n=$((n + 1))
	ns="$NS_PREFIX-$n-$leecher"
	dir="$WORK/$n-$leecher"
	mkdir -p "$dir/down"
	log "leecher $leecher in $ns (10.213.0.$n)"
	status=ok
	t0="" t1="" rss=0
	case $leecher in
	hearth)
		bin=${HEARTH:-}
		if [ -z "$bin" ]; then
			bin="$WORK/hearth"
			if ! CGO_ENABLED=0 go build -o "$bin" ./cmd/hearth 2>"$dir/build.log"; then
				status="build-failed"
			fi
		fi
		if [ "$status" = ok ]; then
			# The profile as shipped, except DHT and IPv6 off like
			# every other client here (no DHT node could be reached anyway).
			start "$ns" "$dir/serve.log" env TORRENT_STORAGE_DEFAULT_FILE_IO=classic \
				HEARTH_TORRENT_DHT=false HEARTH_TORRENT_IPV6=false \
				"$bin" serve --data-dir "$dir/data" --listen 127.0.0.1:9092 --peer-port 51413 --profile "$HEARTH_PROFILE"
			pid=$PID
			if ! (wait_for 30 "hearth's API" in_ns "$ns" curl -s -o /dev/null http://127.0.0.1:9092/); then
				status="no-api"
			else
				t0=$(now)
				rc=0
				in_ns "$ns" timeout "$TIMEOUT" "$bin" add --api http://127.0.0.1:9092 --wait --dir "$dir/down" "$TORRENT" >"$dir/add.log" 2>&1 || rc=$?
				case $rc in
				0) t1=$(now) ;;
				124) status="timeout after ${TIMEOUT}s: $(grep -o 'downloading [0-9.]*%' "$dir/add.log" | tail -1)" ;;
				*) status="add-failed (exit $rc)" ;;
				esac
			fi
			rss=$(peak_rss "$pid")
			got="$dir/down/payload/payload.bin"
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
		in_ns "$ns" transmission-remote 127.0.0.1:9091 -a "$TORRENT" -w "$dir/down" >/dev/null
		if (wait_for "$TIMEOUT" "transmission to finish" done_tr); then t1=$(now); else status=timeout; fi
		rss=$(peak_rss "$pid")
		got="$dir/down/payload/payload.bin"
		stop "$pid"
		;;
	aria2)
		t0=$(now)
		# shellcheck disable=SC2086 # ARIA2_ARGS is a list of options
		start "$ns" "$dir/aria2.log" aria2c "${ARIA2_COMMON[@]}" --listen-port=51413 --seed-time=0 \
			--check-integrity=false ${ARIA2_ARGS:-} -d "$dir/down" "$TORRENT"
		pid=$PID
		# aria2c exits when done: sample its VmHWM (it only grows) until then.
		end=$(($(date +%s) + TIMEOUT))
		while kill -0 "$pid" 2>/dev/null && [ -d "/proc/$pid" ] && [ "$(date +%s)" -lt "$end" ]; do
			r=$(peak_rss "$pid")
			[ -n "$r" ] && [ "$r" -gt "$rss" ] && rss=$r
			if grep -q '^State:.*zombie' "/proc/$pid/status" 2>/dev/null; then break; fi
			sleep 0.1
		done
		if [ -d "/proc/$pid" ] && ! grep -q '^State:.*zombie' "/proc/$pid/status" 2>/dev/null; then
			stop "$pid"
			status=timeout
		elif wait "$pid"; then
			t1=$(now)
		else
			status="exit-$?"
		fi
		got="$dir/down/payload/payload.bin"
		;;
	qbittorrent)
		write_qbittorrent_config "$dir/qbt" 51413 8082 "$dir/down"
		t0=$(now)
		start "$ns" "$dir/qbt.log" qbittorrent-nox --profile="$dir/qbt" --save-path="$dir/down" "$TORRENT"
		pid=$PID
		done_qbt() { in_ns "$ns" curl -sf "http://127.0.0.1:8082/api/v2/torrents/info?hashes=$INFOHASH" | grep -q '"progress":1[,}]'; }
		if (wait_for "$TIMEOUT" "qbittorrent to finish" done_qbt); then t1=$(now); else status=timeout; fi
		rss=$(peak_rss "$pid")
		got="$dir/down/payload/payload.bin"
		stop "$pid"
		;;
	*) die "unknown leecher $leecher" ;;
	esac
	if [ "$status" = ok ]; then
		if [ -n "$got" ] && cmp -s "$got" "$WORK/seed/data/payload/payload.bin"; then
			verified=yes
		else
			verified=NO
			status=corrupt
		fi
		line=$(awk -v l="$leecher" -v b="$BYTES" -v t0="$t0" -v t1="$t1" -v r="$rss" -v v="$verified" \
			'BEGIN { s = t1 - t0; printf "%-13s %8.1f s %8.1f MB/s %8.1f MiB peak RSS  verified=%s", l, s, b / s / 1e6, r / 1024, v }')
	else
		line=$(printf '%-13s %s (logs in %s)' "$leecher" "$status" "$dir")
	fi
	log "$line"
	RESULTS+=("$line")
	rm -rf "$dir/down" "$dir/data"
done

# ---------------------------------------------------------------- report
mkdir -p bench/results
out="bench/results/transfer-$(date +%F).txt"
{
	echo "# bench/transfer.sh $(date -Is)  git $(git describe --always --dirty 2>/dev/null || echo '?')"
	echo "# $SIZE_MIB MiB, one file, 2^$PIECE_EXP-byte pieces, over a veth pair; seeder: $SEEDER; hearth profile: $HEARTH_PROFILE ($(uname -r), $(nproc) cores)"
	echo "# time from add to complete; MB = 10^6 bytes; peak RSS = VmHWM of the leecher process"
	printf '%s\n' "${RESULTS[@]}"
	echo
} | tee -a "$out"
log "appended to $out"
for r in "${RESULTS[@]}"; do case $r in *verified=yes*) ;; *) exit 1 ;; esac; done
