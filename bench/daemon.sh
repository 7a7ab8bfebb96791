#!/usr/bin/env bash
# The daemon at rest: idle RSS of `hearth serve` with 0 and with 100
# torrents loaded (seeding, no peers) after a settle time, and the start-up
# time to a ready API with 1,000 torrents in state, with no re-hashing.
# Needs root (it runs the daemon in a network namespace of its own with only
# loopback). See bench/README.md.
#
# Environment:
#   HEARTH          a hearth binary to use instead of building ./cmd/hearth
#   HEARTH_PROFILE  device profile (default router)
#   SETTLE          seconds to let an idle daemon settle (default 30)
#   MANY            torrents for the start-up case (default 1000)
#   LOADED          torrents for the loaded idle case (default 100)
#   ROWS            append one tab-separated line per measure to this file
#   KEEP=1          keep the work directory
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

HEARTH_PROFILE=${HEARTH_PROFILE:-router}
SETTLE=${SETTLE:-30}
MANY=${MANY:-1000}
LOADED=${LOADED:-100}

die() { echo "daemon.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespace)"
[ "$LOADED" -le "$MANY" ] || die "LOADED must be <= MANY"

WORK=$(mktemp -d /tmp/hearth-bench-daemon.XXXXXX)
NS="hb-$$-daemon"
API=http://127.0.0.1:9092
PID=""
NS_MADE=""

cleanup() {
	local rc=$?
	set +e
	exec 2>/dev/null
	[ -n "$PID" ] && kill -KILL "$PID" && wait "$PID"
	if [ -n "$NS_MADE" ]; then
		for p in $(ip netns pids "$NS"); do kill -KILL "$p"; done
		ip netns del "$NS"
	fi
	if [ "${KEEP:-}" = 1 ] || [ $rc != 0 ]; then
		echo "daemon.sh: work directory kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT INT TERM

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
in_ns() { ip netns exec "$NS" "$@"; }
api() { in_ns curl -sf --max-time 5 "$API$1"; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
row() { # measure value unit note
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >&2
	if [ -n "${ROWS:-}" ]; then printf 'daemon\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$ROWS"; fi
}
load() { cut -d' ' -f1-3 /proc/loadavg; }

bin=${HEARTH:-}
if [ -z "$bin" ]; then
	bin="$WORK/hearth"
	log "building hearth"
	CGO_ENABLED=0 go build -o "$bin" ./cmd/hearth
fi

ip netns add "$NS"
NS_MADE=1
ip -n "$NS" link set lo up

serve() {
	# Not through a shell function: $! must be the daemon itself (ip netns
	# exec and env exec in place).
	ip netns exec "$NS" env TORRENT_STORAGE_DEFAULT_FILE_IO=classic HEARTH_TORRENT_DHT=false HEARTH_TORRENT_IPV6=false \
		"$bin" serve --data-dir "$WORK/data" --listen 127.0.0.1:9092 --peer-port 51413 \
		--profile "$HEARTH_PROFILE" >>"$WORK/serve.log" 2>&1 &
	PID=$!
}
stop_serve() { # SIGTERM, as an init system would; KILL after 15 s
	kill -TERM "$PID"
	local i=0
	while kill -0 "$PID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=""
}
wait_api() {
	local i=0
	until api /api/v1/version >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 300 ] || die "hearth's API did not answer in 30 s (log: $WORK/serve.log)"
		sleep 0.1
	done
}
# states: "N state" lines of the torrent list.
states() { api /api/v1/torrents | grep -o '"state": *"[a-z-]*"' | sed 's/.*"\([a-z-]*\)"$/\1/' | sort | uniq -c; }
count() { api /api/v1/torrents | grep -c '"infoHash"' || true; }
# wait_loaded N: N torrents listed and none checking.
wait_loaded() {
	local i=0
	until [ "$(count)" = "$1" ] && ! states | grep -q checking; do
		i=$((i + 1))
		[ $i -lt 1200 ] || die "$1 torrents not loaded after 120 s: $(states | tr '\n' ' ')"
		sleep 0.1
	done
}
idle() { # NAME: RSS after SETTLE seconds
	log "settling $SETTLE s"
	sleep "$SETTLE"
	local rss anon file hwm
	rss=$(status_kib "$PID" VmRSS)
	anon=$(status_kib "$PID" RssAnon)
	file=$(status_kib "$PID" RssFile)
	hwm=$(status_kib "$PID" VmHWM)
	row "$1" "$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')" MiB \
		"anon $(awk -v k="$anon" 'BEGIN {printf "%.1f", k / 1024}') + file $(awk -v k="$file" 'BEGIN {printf "%.1f", k / 1024}') MiB; VmHWM $(awk -v k="$hwm" 'BEGIN {printf "%.1f", k / 1024}') MiB; load $(load)"
}

# Tiny torrents (16 KiB, one piece each) whose data is present.
log "making $MANY torrents"
mkdir -p "$WORK/payload" "$WORK/torrents"
for i in $(seq -w 1 "$MANY"); do
	head -c 16384 /dev/urandom >"$WORK/payload/t$i.bin"
	mktorrent -l 15 -o "$WORK/torrents/t$i.torrent" "$WORK/payload/t$i.bin" >/dev/null
done
add_range() { # FIRST LAST
	local i
	for i in $(seq -w 1 "$MANY" | sed -n "$1,$2p"); do
		in_ns curl -sf -o /dev/null -H 'Content-Type: application/json' \
			-d "{\"path\":\"$WORK/torrents/t$i.torrent\",\"dir\":\"$WORK/payload\"}" "$API/api/v1/torrents" ||
			die "adding t$i.torrent"
	done
}

log "idle, 0 torrents"
serve
wait_api
idle "idle RSS, 0 torrents"
log "adding $LOADED torrents"
add_range 1 "$LOADED"
wait_loaded "$LOADED"
stop_serve

log "idle, $LOADED torrents (fresh start)"
serve
wait_api
wait_loaded "$LOADED"
idle "idle RSS, $LOADED torrents"
log "adding $((MANY - LOADED)) more torrents"
add_range "$((LOADED + 1))" "$MANY"
wait_loaded "$MANY"
stop_serve

log "start-up with $MANY torrents in state"
sync
t0=$(now)
serve
until api /api/v1/version >/dev/null 2>&1; do sleep 0.02; done
t1=$(now)
until [ "$(count)" = "$MANY" ] && ! states | grep -q checking; do
	awk -v s="$t0" -v n="$(now)" 'BEGIN { exit !(n - s > 120) }' && die "not ready after 120 s: $(states | tr '\n' ' ')"
	sleep 0.02
done
t2=$(now)
hashed=$(api /api/v1/stats | grep -o '"bytesHashed": *[0-9]*' | grep -o '[0-9]*$')
st=$(states | awk '{printf "%s%s %s", sep, $1, $2; sep = ", "}')
row "start-up, API answers, $MANY torrents" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')" s "load $(load)"
row "start-up, all $MANY listed, none checking" "$(awk -v a="$t0" -v b="$t2" 'BEGIN {printf "%.2f", b - a}')" s "states: $st; bytesHashed $hashed; load $(load)"
row "bytes hashed at start-up, $MANY torrents" "$hashed" B "should be 0 (no re-hash)"
idle "idle RSS, $MANY torrents"
hashed=$(api /api/v1/stats | grep -o '"bytesHashed": *[0-9]*' | grep -o '[0-9]*$')
row "bytes hashed ${SETTLE} s after start-up, $MANY torrents" "$hashed" B "should be 0 (no re-hash later either)"
stop_serve
