#!/bin/bash
# accuracy_events.sh: entries that end between two reads are counted to the
# byte from their DESTROY events (accounting rule 3, docs/DESIGN.md),
# measured against the router's per-address nftables counters on the forward
# path (within 0.1%, as README "Measured" promises), with the router's
# timeouts of ending flows cut to 1 s and collectd reading every 2 s, so
# that most entries of the workload begin and end between two reads and
# leave the table before the next one: hundreds of short TCP connections
# (outbound through masquerade, inbound through a port forward, IPv6
# routed), UDP request/response pairs each from a source port of its own,
# ICMP and ICMPv6, and long transfers spanning several reads. The same
# workload then runs again with Events false, and the test prints (without
# asserting) how much of each host's traffic ctflow misses without events.
# Needs root. Runs standalone with CTFLOW_SO=.../ctflow.so.
set -eEuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=${TESTS_DIR:-$here/..}
# shellcheck source=tests/lib/topology.sh
. "$TESTS_DIR/lib/topology.sh"
# shellcheck source=tests/lib/collectd.sh
. "$TESTS_DIR/lib/collectd.sh"
# shellcheck source=tests/lib/truth.sh
. "$TESTS_DIR/lib/truth.sh"

ctfi_require ip nft conntrack iperf3 socat ping ss timeout awk "$TOPO_PYTHON"

PREFIX=ctfj-acc$$-
WORK=$(mktemp -d /tmp/ctfj-accuracy_events.XXXXXX)
cleanup() {
  local run
  for run in events noevents; do
    if collectd_running "$WORK/$run"; then collectd_stop "$WORK/$run"; fi
  done
  topo_down "$PREFIX"
  if [[ -n ${CTFI_KEEP:-} ]]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
}
ctfi_traps cleanup

# Reads every 2 s; ended entries leave the table 1 s after their last
# packet, so a short connection is born and gone between two reads.
CTFI_INTERVAL=2
TIMEOUT=1

W4=${TOPO_V4[wan]}
W6=${TOPO_V6[wan]}
X4=${TOPO_V4[wan2]}
X6=${TOPO_V6[wan2]}
FWD=${TOPO_V4[router_wan]}
H1=${TOPO_V4[h1]}
H1_6=${TOPO_V6[h1]}
H2=${TOPO_V4[h2]}
H2_6=${TOPO_V6[h2]}
H3=${TOPO_V4[h3]}
H3_6=${TOPO_V6[h3]}
S4=${TOPO_V4[srv]}
S6=${TOPO_V6[srv]}
LAN_ADDRS=()
for role in $TOPO_LAN_ROLES; do
  LAN_ADDRS+=("$role 4 ${TOPO_V4[$role]}" "$role 6 ${TOPO_V6[$role]}")
done

# Connections the workload makes, per LAN address: its own count, the
# independent figure total_connections is held to. One iperf3 transfer is
# two connections (control and data).
declare -A MADE=()
made() {
  MADE[$1]=$((${MADE[$1]:-0} + $2))
}

# ROUNDS rounds of COUNT short TCP connections (PARALLEL at a time), 0.7 s
# apart, so that they end between different reads.
rr_rounds() {
  local rounds=$1 role=$2 addr=$3 port=$4 count=$5 parallel=$6 r
  for ((r = 0; r < rounds; r++)); do
    ((r == 0)) || sleep 0.7
    topo_rr "$PREFIX" "$role" "$addr" "$port" "$count" "$parallel" "$r" || return 1
  done
}

# The same, UDP request/response pairs, each from a source port of its own
# from FIRST_PORT on. Jobs get ports apart: masquerade maps every LAN
# address to the router's, and two new entries that pick the same port at
# once clash (the kernel drops the second's packet after the forward chain
# counted it).
udp_rounds() {
  local rounds=$1 role=$2 addr=$3 count=$4 size=$5 first=$6 r
  for ((r = 0; r < rounds; r++)); do
    ((r == 0)) || sleep 0.9
    topo_udp_pairs "$PREFIX" "$role" "$addr" "$count" "$size" 2 $((first + r * count)) ||
      return 1
  done
}

# The workload: every LAN address sends and receives over short and long
# connections; about 1,050 connections in all (870 of them short TCP), over
# about 6 s. Records what it makes in MADE (by LAN address).
workload() {
  MADE=()
  # Long transfers, paced to span several reads.
  ctfi_job "h1 tcp4 up 4M" topo_tcp "$PREFIX" h1 "$W4" 5201 up 4M 8M
  made "$H1" 2
  ctfi_job "h2 tcp4 down 4M" topo_tcp "$PREFIX" h2 "$W4" 5202 down 4M 8M
  made "$H2" 2
  ctfi_job "h3 tcp6 up 3M" topo_tcp "$PREFIX" h3 "$W6" 5203 up 3M 6M
  made "$H3_6" 2
  ctfi_job "h1 tcp6 down 3M" topo_tcp "$PREFIX" h1 "$W6" 5204 down 3M 6M
  made "$H1_6" 2
  ctfi_job "wan tcp4 via port forward up 3M" topo_tcp "$PREFIX" wan "$FWD" "$TOPO_FWD_PORT" up 3M 8M
  made "$S4" 2
  ctfi_job "wan tcp6 from srv down 2M" topo_tcp "$PREFIX" wan "$S6" 5201 down 2M 6M
  made "$S6" 2
  # Short connections: request, response, close, in rounds.
  ctfi_job "h1 rr4 5x40" rr_rounds 5 h1 "$W4" "$TOPO_RR_PORT" 40 4
  made "$H1" 200
  ctfi_job "h1 rr6 4x20" rr_rounds 4 h1 "$W6" "$TOPO_RR_PORT" 20 2
  made "$H1_6" 80
  ctfi_job "h2 rr4 4x20 wan2" rr_rounds 4 h2 "$X4" "$TOPO_RR_PORT" 20 2
  made "$H2" 80
  ctfi_job "h2 rr6 5x30" rr_rounds 5 h2 "$W6" "$TOPO_RR_PORT" 30 4
  made "$H2_6" 150
  ctfi_job "h3 rr4 4x25" rr_rounds 4 h3 "$W4" "$TOPO_RR_PORT" 25 2
  made "$H3" 100
  ctfi_job "h3 rr6 3x20 wan2" rr_rounds 3 h3 "$X6" "$TOPO_RR_PORT" 20 2
  made "$H3_6" 60
  ctfi_job "wan rr4 via port forward 5x20" rr_rounds 5 wan "$FWD" "$TOPO_FWD_RR_PORT" 20 2
  made "$S4" 100
  ctfi_job "wan rr6 to srv 4x20" rr_rounds 4 wan "$S6" "$TOPO_RR_PORT" 20 2
  made "$S6" 80
  # UDP: every pair from a source port of its own.
  ctfi_job "h1 udp4 4x15" udp_rounds 4 h1 "$W4" 15 700 20000
  made "$H1" 60
  ctfi_job "h2 udp6 3x10" udp_rounds 3 h2 "$W6" 10 1200 21000
  made "$H2_6" 30
  ctfi_job "h3 udp4 3x10 wan2" udp_rounds 3 h3 "$X4" 10 300 22000
  made "$H3" 30
  ctfi_job "srv udp4 3x10" udp_rounds 3 srv "$W4" 10 500 23000
  made "$S4" 30
  ctfi_job "wan udp6 to srv 3x10" udp_rounds 3 wan "$S6" 10 900 24000
  made "$S6" 30
  # ICMP and ICMPv6 echo: one entry per ping.
  ctfi_job "h1 ping4" topo_ping "$PREFIX" h1 "$W4" 5 1000
  made "$H1" 1
  ctfi_job "h2 ping6" topo_ping "$PREFIX" h2 "$W6" 5 400
  made "$H2_6" 1
  ctfi_job "h3 ping6 wan2" topo_ping "$PREFIX" h3 "$X6" 5
  made "$H3_6" 1
  ctfi_job "srv ping4" topo_ping "$PREFIX" srv "$W4" 4 200
  made "$S4" 1
  ctfi_job "wan ping6 to srv" topo_ping "$PREFIX" wan "$S6" 4
  made "$S6" 1
  ctfi_job "h3 ping4 wan2" topo_ping "$PREFIX" h3 "$X4" 3
  made "$H3" 1
}

# run DIR EVENTS: collectd with ctflow (Events EVENTS) in the router, the
# workload, then quiet until the table is empty and two more reads are
# written. Leaves DIR/truth.before and DIR/truth.after (the truth counters
# at the first read and at the end) and DIR/last (the epoch of the last
# read, whose every series is written).
run() {
  local dir=$1 events=$2 n
  collectd_conf "$dir" "" "  LocalNetwork \"$TOPO_LAN4_NET\"
  LocalNetwork \"$TOPO_LAN6_NET\"
  Events $events"
  collectd_start "$dir" "${PREFIX}router"
  if ! collectd_wait_reads "$dir" 1; then
    ctfi_not_ok "Events $events: collectd did not complete a ctflow read; its log:"
    sed 's/^/# /' "$dir/collectd.log"
    return 1
  fi
  # Series start at zero at this first read (accounting rule 1); the table
  # is empty.
  topo_counters "$PREFIX" >"$dir/truth.before"
  workload
  ctfi_wait_jobs "Events $events: workload" "jobs completed every exchange"
  ctfi_check "Events $events: the router's table empties within 20 s after the workload" \
    topo_table_empties "$PREFIX"
  topo_counters "$PREFIX" >"$dir/truth.after"
  # Two reads that began after the last entry left: every event is in.
  n=$(collectd_reads "$dir")
  collectd_wait_reads "$dir" $((n + 3)) 20
  csv_time_of "$dir" ctflow-self/count-flows $((n + 3)) >"$dir/last"
  echo "# Events $events: $((n + 3)) reads, $(topo_growth "$dir/truth.before" "$dir/truth.after" \
    forward_all | cut -d' ' -f2) bytes forwarded"
  collectd_stop "$dir"
  ctfi_check "Events $events: collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
    test "$COLLECTD_STATUS" = 0
}

# Prints the Nth value (default 1) of SERIES at the last read of run DIR.
final() {
  csv_at "$1" "$2" "$(cat "$1/last")" "${3:-1}" || echo none
}

# --- setup -------------------------------------------------------------------
start=$SECONDS
topo_up "$PREFIX"
topo_short_timeouts "$PREFIX" "$TIMEOUT"
# The table holds what came before the short timeouts (e.g. an IGMP report
# of the router's bridge, 600 s): empty it, the collectd run starts clean.
topo_exec "$PREFIX" router conntrack -F 2>/dev/null
ctfi_check "the router's table is empty before collectd starts" topo_table_empties "$PREFIX"
mkdir -p "$WORK/events" "$WORK/noevents"

# --- Events true: every byte, every connection ---------------------------------
run "$WORK/events" true
E=$WORK/events
for a in "${LAN_ADDRS[@]}"; do
  read -r role fam addr <<<"$a"
  truth_host "$E" "$E/truth.before" "$E/truth.after" "$role" "$fam" "$(cat "$E/last")"
  got=$(final "$E" "ctflow-$addr/total_connections")
  ctfi_check "$addr ($role) total_connections: ctflow $got, connections the workload made ${MADE[$addr]}" \
    test "$got" = "${MADE[$addr]}"
done
read -r inv_pkts inv_bytes <<<"$(topo_growth "$E/truth.before" "$E/truth.after" invalid)"
echo "# packets conntrack called invalid (not in its counters): $inv_pkts ($inv_bytes bytes)"

# total == every host bucket + other, at every read.
ctfi_total_is_sum "$E" "$(cat "$E/last")"

lost_lines=$(csv_lines "$E" ctflow-self/errors-events_lost)
lost_max=$(csv_values "$E" ctflow-self/errors-events_lost | awk '$2 > m { m = $2 } END { print m + 0 }')
ctfi_check "ctflow-self/errors-events_lost stays 0 over all $lost_lines reads (max $lost_max)" \
  test "$lost_lines" -gt 0 -a "$lost_max" = 0
overflows=$(grep -c 'event socket overflowed' "$E/collectd.log" || true)
ctfi_check "the log has no event overflow ($overflows lines)" test "$overflows" = 0

# --- Events false: what events buy ---------------------------------------------
# The same workload, the same topology: its truth is the counters' growth
# over this second run.
run "$WORK/noevents" false
N=$WORK/noevents
ctfi_check "Events false: ctflow dispatches no errors-events_lost series" \
  test "$(csv_lines "$N" ctflow-self/errors-events_lost)" = 0
echo "# Events false: what ctflow counted of each host's traffic (the rest ended between reads;"
echo "# connections seen: those a dump found, the others began and ended between two reads)"
all_truth=0
all_counted=0
for a in "${LAN_ADDRS[@]}"; do
  read -r role fam addr <<<"$a"
  read -r _ tx_bytes <<<"$(topo_growth "$N/truth.before" "$N/truth.after" "${role}_v${fam}_tx")"
  read -r _ rx_bytes <<<"$(topo_growth "$N/truth.before" "$N/truth.after" "${role}_v${fam}_rx")"
  rx=$(final "$N" "ctflow-$addr/if_octets" 1)
  tx=$(final "$N" "ctflow-$addr/if_octets" 2)
  conns=$(final "$N" "ctflow-$addr/total_connections")
  all_truth=$((all_truth + rx_bytes + tx_bytes))
  all_counted=$((all_counted + rx + tx))
  awk -v a="$addr ($role)" -v rx="$rx" -v tx="$tx" -v trx="$rx_bytes" -v ttx="$tx_bytes" \
    -v c="$conns" -v m="${MADE[$addr]}" 'BEGIN {
      printf "#   %-26s received %9d of %9d bytes (missed %5.1f%%), sent %9d of %9d (missed %5.1f%%), connections seen %d of %d\n",
        a, rx, trx, trx ? 100 * (trx - rx) / trx : 0, tx, ttx, ttx ? 100 * (ttx - tx) / ttx : 0, c, m }'
done
awk -v c="$all_counted" -v t="$all_truth" 'BEGIN {
  printf "#   all LAN addresses: %d of %d bytes, missed %.1f%% (with Events true: none)\n", c, t, 100 * (t - c) / t }'

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
