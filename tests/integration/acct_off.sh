#!/bin/bash
# acct_off.sh: with net.netfilter.nf_conntrack_acct=0 the kernel keeps no
# byte counters; ctflow (accounting rule 6, docs/DESIGN.md) still counts
# connections, counts no bytes or packets, and warns once, naming the
# sysctl.
# Needs root. Runs standalone with CTFLOW_SO=.../ctflow.so.
set -eEuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=${TESTS_DIR:-$here/..}
# shellcheck source=tests/lib/topology.sh
. "$TESTS_DIR/lib/topology.sh"
# shellcheck source=tests/lib/collectd.sh
. "$TESTS_DIR/lib/collectd.sh"

ctfi_require ip nft conntrack iperf3 socat ping ss timeout awk "$TOPO_PYTHON"

PREFIX=ctfi-ao$$-
WORK=$(mktemp -d /tmp/ctfi-acct_off.XXXXXX)
ctfi_traps_topology

start=$SECONDS
H1=${TOPO_V4[h1]}
H1_6=${TOPO_V6[h1]}
W4=${TOPO_V4[wan]}
W6=${TOPO_V6[wan]}
TOPO_ACCT=0 topo_up "$PREFIX"
acct=$(topo_exec "$PREFIX" router cat /proc/sys/net/netfilter/nf_conntrack_acct)
ctfi_check "the router's net.netfilter.nf_conntrack_acct is $acct (want 0)" test "$acct" = 0

# No <Plugin ctflow> block: LocalNetwork's default covers the LAN.
collectd_conf "$WORK" "" ""
ctfi_start_collectd "$WORK" "${PREFIX}router"

# Two idle connections held open, and bytes that acct=1 would count.
(
  trap - ERR
  topo_hold "$PREFIX" h1 "$W4" 2 6
) &
hold_pid=$!
ctfi_check "a 1 MiB upload from h1 completed" topo_tcp "$PREFIX" h1 "$W4" 5201 up 1M 8M
ctfi_check "ICMPv6 echo from h1 answered" topo_ping "$PREFIX" h1 "$W6" 3

# Prints how many connections from h1 to the hold port conntrack lists as
# established.
held() {
  topo_exec "$PREFIX" router conntrack -L -p tcp --orig-src "$H1" \
    --orig-port-dst "$TOPO_HOLD_PORT" --state ESTABLISHED 2>/dev/null | grep -c . || true
}
for ((i = 0; i < 50; i++)); do
  [[ $(held) == 2 ]] && break
  sleep 0.1
done
ctfi_check "conntrack -L shows h1's 2 held connections established" test "$(held)" = 2
# The entries really carry no counters (the ground truth of this test).
listing=$(topo_exec "$PREFIX" router conntrack -L -s "$H1" 2>/dev/null)
ctfi_check "conntrack -L shows no byte counters on h1's entries" \
  test -n "$listing" -a "$(grep -c 'bytes=' <<<"$listing" || true)" = 0

# A read that began after both were established (the one after the read
# that may be under way now).
n=$(collectd_reads "$WORK")
collectd_wait_reads "$WORK" $((n + 2))
conns=$(csv_last "$WORK" "ctflow-$H1/current_connections")
tcp=$(csv_last "$WORK" "ctflow-$H1/current_connections-tcp")
ctfi_check "while 2 are held open, ctflow-$H1/current_connections-tcp is at least 2: $tcp" \
  awk -v v="$tcp" 'BEGIN { exit !(v >= 2) }'
ctfi_check "ctflow-$H1/current_connections > 0: $conns" \
  awk -v v="$conns" 'BEGIN { exit !(v > 0) }'

wait "$hold_pid" || ctfi_not_ok "the held connections did not close cleanly"
n=$(collectd_reads "$WORK")
collectd_wait_reads "$WORK" $((n + 2))
collectd_stop "$WORK"
ctfi_check "collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
  test "$COLLECTD_STATUS" = 0

read -r _ sent <<<"$(topo_counter "$PREFIX" h1_v4_tx)"
ctfi_check "the router forwarded over 1 MiB from h1 (nft: $sent bytes)" test "$sent" -gt 1048576
total=$(csv_last "$WORK" "ctflow-$H1/total_connections")
ctfi_check "ctflow-$H1/total_connections > 0: $total" test "$total" -gt 0
for bucket in "$H1" "$H1_6" total; do
  for type in if_octets if_packets; do
    rx=$(csv_last "$WORK" "ctflow-$bucket/$type" 1)
    tx=$(csv_last "$WORK" "ctflow-$bucket/$type" 2)
    ctfi_check "ctflow-$bucket/$type stays 0 without counters: rx $rx, tx $tx" \
      test "$rx" = 0 -a "$tx" = 0
  done
done

ctfi_log_once "$WORK" 'net\.netfilter\.nf_conntrack_acct' warning \
  "the warning naming net.netfilter.nf_conntrack_acct"

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
