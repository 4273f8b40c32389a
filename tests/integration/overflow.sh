#!/bin/bash
# overflow.sh: the DESTROY event socket overflows (accounting rule 7,
# docs/DESIGN.md). With EventBufferSize 4096 the socket holds a handful of
# events; two bursts of thousands of ending entries overflow it:
#   A. UDP request/response pairs, each from a source port of its own,
#      ending within a second or so (1 s timeout), other traffic across them;
#   B. thousands of UDP entries of h2's IPv6 address deleted in one
#      conntrack -D, just after a second exchange on each (their tail).
# ctflow counts the overflows in ctflow-self/errors-events_lost, says so in
# the log, and goes on reading. Entries whose event was lost lose their
# tail and only that; nothing is counted twice: at every read each LAN host
# is at most what the router's nft counters had after it, no DERIVE series
# goes down, total is the sum of the buckets, no host has more connections
# than it made, and h2's IPv6 address lacks at most the bytes of burst B's
# second exchanges.
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

PREFIX=ctfj-ovf$$-
WORK=$(mktemp -d /tmp/ctfj-overflow.XXXXXX)
stop_sampler() {
  touch "$WORK/sampler.stop"
  if [[ -n ${SAMPLER:-} ]]; then wait "$SAMPLER" || true; fi
}
ctfi_traps_topology stop_sampler

W4=${TOPO_V4[wan]}
W6=${TOPO_V6[wan]}
H1=${TOPO_V4[h1]}
H1_6=${TOPO_V6[h1]}
H2=${TOPO_V4[h2]}
H2_6=${TOPO_V6[h2]}
H3=${TOPO_V4[h3]}
S4=${TOPO_V4[srv]}
LAN_ADDRS=()
for role in $TOPO_LAN_ROLES; do
  LAN_ADDRS+=("$role 4 ${TOPO_V4[$role]}" "$role 6 ${TOPO_V6[$role]}")
done
# Burst A: UDP request/response pairs, each an entry of its own; burst B:
# entries deleted at once.
BURST=2500
DELETED=3000

declare -A MADE=()
made() {
  MADE[$1]=$((${MADE[$1]:-0} + $2))
}

# Prints the Nth value (default 1) of SERIES at the last read.
final() {
  csv_at "$WORK" "$1" "$(cat "$WORK/last")" "${2:-1}" || echo none
}

# --- setup -------------------------------------------------------------------
start=$SECONDS
topo_up "$PREFIX"
topo_short_timeouts "$PREFIX" 1
topo_exec "$PREFIX" router conntrack -F 2>/dev/null
ctfi_check "the router's table is empty before collectd starts" topo_table_empties "$PREFIX"
collectd_conf "$WORK" "" "  LocalNetwork \"$TOPO_LAN4_NET\"
  LocalNetwork \"$TOPO_LAN6_NET\"
  EventBufferSize 4096"
ctfi_start_collectd "$WORK" "${PREFIX}router"
topo_counters "$PREFIX" >"$WORK/truth.0"
topo_sample_counters "$PREFIX" "$WORK/samples" "$WORK/sampler.stop" 120 &
SAMPLER=$!

# --- burst A: thousands of entries time out together, traffic across them ------
ctfi_job "h2 tcp4 down 6M, across the burst" topo_tcp "$PREFIX" h2 "$W4" 5201 down 6M 8M
made "$H2" 2
ctfi_job "h3 rr4 40" topo_rr "$PREFIX" h3 "$W4" "$TOPO_RR_PORT" 40 2
made "$H3" 40
ctfi_job "h1 udp4 burst $BURST pairs" topo_udp_pairs "$PREFIX" h1 "$W4" "$BURST" 200 4 20000
made "$H1" "$BURST"
# Source ports apart from h1's: masquerade would map both to the router's
# address, and two new entries that pick the same port at once clash (the
# kernel drops the packet of the second, after the forward chain counted it).
ctfi_job "srv udp4 burst $BURST pairs" topo_udp_pairs "$PREFIX" srv "$W4" "$BURST" 300 4 24000
made "$S4" "$BURST"
ctfi_job "h1 udp6 burst $((BURST / 2)) pairs" topo_udp_pairs "$PREFIX" h1 "$W6" $((BURST / 2)) 100 2 30000
made "$H1_6" $((BURST / 2))
ctfi_wait_jobs "burst A" "jobs completed every exchange"
ctfi_check "burst A: the router's table empties within 20 s" topo_table_empties "$PREFIX"
n=$(collectd_reads "$WORK")
collectd_wait_reads "$WORK" $((n + 2))
lost_a=$(csv_last "$WORK" ctflow-self/errors-events_lost)
echo "# burst A: ctflow-self/errors-events_lost $lost_a"

# --- burst B: thousands of entries deleted at once, just after their tail ----------
# h2's exchanges over IPv6: one from each of DELETED source ports.
h2_pairs() {
  topo_udp_pairs "$PREFIX" h2 "$W6" "$DELETED" 400 4 40000 >/dev/null
}
# UDP entries stay 60 s now: only the deletion ends them.
topo_exec "$PREFIX" router sysctl -qw net.netfilter.nf_conntrack_udp_timeout=60 \
  net.netfilter.nf_conntrack_udp_timeout_stream=60
ctfi_check "burst B: h2 makes $DELETED UDP entries (one exchange each)" h2_pairs
made "$H2_6" "$DELETED"
# Two reads that began after the first exchanges: those are counted.
n=$(collectd_reads "$WORK")
collectd_wait_reads "$WORK" $((n + 2))
topo_counters "$PREFIX" >"$WORK/truth.tail_before"
ctfi_check "burst B: a second exchange on each of the $DELETED entries (same source ports)" \
  h2_pairs
out=$(topo_exec "$PREFIX" router conntrack -D -f ipv6 -p udp 2>&1 >/dev/null || true)
topo_counters "$PREFIX" >"$WORK/truth.tail_after"
ctfi_check "burst B: conntrack -D deleted them at once (${out##*: })" \
  grep -q "$DELETED flow entries have been deleted" <<<"$out"
topo_short_timeouts "$PREFIX" 1
ctfi_check "burst B: the router's table empties within 20 s" topo_table_empties "$PREFIX"
topo_counters "$PREFIX" >"$WORK/truth.1"

# ctflow goes on: four more reads, the last three begun after the table
# emptied.
ctfi_check "collectd still runs after the bursts" collectd_running "$WORK"
n=$(collectd_reads "$WORK")
if collectd_wait_reads "$WORK" $((n + 4)) 20; then
  ctfi_ok "ctflow wrote 4 more reads after the bursts ($((n + 4)) in all)"
else
  ctfi_not_ok "ctflow stopped writing reads after the bursts ($(collectd_reads "$WORK") reads, $n before)"
fi
csv_time_of "$WORK" ctflow-self/count-flows $((n + 4)) >"$WORK/last"
collectd_stop "$WORK"
ctfi_check "collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
  test "$COLLECTD_STATUS" = 0
touch "$WORK/sampler.stop"
wait "$SAMPLER"
SAMPLER=

# --- the overflow was seen ------------------------------------------------------------
lost=$(final ctflow-self/errors-events_lost)
ctfi_check "ctflow-self/errors-events_lost rose above 0: $lost ($lost_a in burst A)" \
  awk -v v="$lost" 'BEGIN { exit !(v != "none" && v > 0) }'
line=$(grep -m1 'event socket overflowed' "$WORK/collectd.log" || true)
ctfi_check "the log says the event socket overflowed: ${line:-none}" \
  grep -q 'ctflow: event socket overflowed.*EventBufferSize 4096' <<<"$line"

# --- nothing counted twice -------------------------------------------------------------
ctfi_derive_never_down "$WORK"

# At every read, each LAN address at most what the nft counters had just
# after it.
for a in "${LAN_ADDRS[@]}"; do
  read -r role fam addr <<<"$a"
  for type in if_octets if_packets; do
    if csv_has "$WORK" "ctflow-$addr/$type"; then
      truth_never_above "$WORK" "$WORK/truth.0" "$WORK/samples" "$addr" "$role" "$fam" "$type"
    else
      ctfi_ok "$addr ($role) $type: no series (no traffic)"
    fi
  done
done

ctfi_total_is_sum "$WORK"

# Connections: an entry whose event was lost and that no dump saw is not
# counted; none is counted twice.
for addr in "${!MADE[@]}"; do
  got=$(final "ctflow-$addr/total_connections")
  ctfi_check "$addr total_connections at most the connections made: ctflow $got, made ${MADE[$addr]}" \
    awk -v g="$got" -v m="${MADE[$addr]}" 'BEGIN { exit !(g != "none" && g <= m) }'
done

# Burst B's entries were counted up to their tail: what h2's IPv6 address
# lacks is at most the bytes (packets) of the second exchanges.
read -r tail_pkts_rx tail_rx <<<"$(topo_growth "$WORK/truth.tail_before" "$WORK/truth.tail_after" h2_v6_rx)"
read -r tail_pkts_tx tail_tx <<<"$(topo_growth "$WORK/truth.tail_before" "$WORK/truth.tail_after" h2_v6_tx)"
for t in "if_octets 1 received bytes rx 2 $tail_rx" "if_octets 2 sent bytes tx 2 $tail_tx" \
  "if_packets 1 received packets rx 1 $tail_pkts_rx" "if_packets 2 sent packets tx 1 $tail_pkts_tx"; do
  read -r type col what1 what2 dir field tail <<<"$t"
  want=$(topo_growth "$WORK/truth.0" "$WORK/truth.1" "h2_v6_$dir" | cut -d' ' -f"$field")
  got=$(final "ctflow-$H2_6/$type" "$col")
  ctfi_check "$H2_6 (h2) $what1 $what2: ctflow $got, nft $want, lacking $((want - got)): at most the tail $tail" \
    test "$got" -le "$want" -a $((want - got)) -le "$tail"
done

# What the lost events cost.
echo "# what ctflow counted of each host's traffic ($lost overflows)"
for a in "${LAN_ADDRS[@]}"; do
  read -r role fam addr <<<"$a"
  read -r _ tx_bytes <<<"$(topo_growth "$WORK/truth.0" "$WORK/truth.1" "${role}_v${fam}_tx")"
  read -r _ rx_bytes <<<"$(topo_growth "$WORK/truth.0" "$WORK/truth.1" "${role}_v${fam}_rx")"
  ((rx_bytes + tx_bytes > 0)) || continue
  rx=$(final "ctflow-$addr/if_octets" 1)
  tx=$(final "ctflow-$addr/if_octets" 2)
  conns=$(final "ctflow-$addr/total_connections")
  awk -v a="$addr ($role)" -v rx="$rx" -v tx="$tx" -v trx="$rx_bytes" -v ttx="$tx_bytes" \
    -v c="$conns" -v m="${MADE[$addr]:-0}" 'BEGIN {
      printf "#   %-24s received %8d of %8d bytes (%5.1f%% lost), sent %8d of %8d (%5.1f%% lost), connections %d of %d\n",
        a, rx, trx, trx ? 100 * (trx - rx) / trx : 0, tx, ttx, ttx ? 100 * (ttx - tx) / ttx : 0, c, m }'
done

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
