#!/bin/bash
# netns.sh: NetNamespace and EnableAccounting on the real kernel with the
# real collectd. collectd runs in a monitor namespace of its own and reads
# the conntrack table of the topology's NAT router, another namespace:
#   - per-host bytes and packets match the router's nftables counters
#     (within 0.1%, as README "Measured" promises), including the tails
#     that only the router's DESTROY events carry (the test flushes the
#     router's table at the end);
#   - EnableAccounting true sets the router's nf_conntrack_acct, 0 when
#     collectd starts, to 1, so that connections made afterwards have their
#     bytes counted; entries older than that bring one notice;
#   - the monitor namespace is left as it was: its own table entry, its
#     nf_conntrack_acct, and every collectd thread stays in it.
# (A NetNamespace that does not exist is a case of bad_option.sh.)
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

ctfi_require ip nft conntrack iperf3 socat ping ss timeout awk stat "$TOPO_PYTHON"

PREFIX=ctfs-ns$$-
MON=ctfs-mon$$
ROUTER=$(topo_ns "$PREFIX" router)
WORK=$(mktemp -d /tmp/ctfi-netns.XXXXXX)
RELEASE=$WORK/release
# Beyond the topology: h3's held connections and the monitor namespace.
release_and_del_monitor() {
  touch "$RELEASE"
  if [[ -e /run/netns/$MON ]]; then ip netns del "$MON"; fi
}
ctfi_traps_topology release_and_del_monitor

mon() {
  ip netns exec "$MON" "$@"
}

# Prints the value of sysctl NAME in namespace NS.
sysctl_in() {
  ip netns exec "$1" sysctl -n "$2"
}

start=$SECONDS
W4=${TOPO_V4[wan]}
W6=${TOPO_V6[wan]}
FWD=${TOPO_V4[router_wan]}

# --- setup -------------------------------------------------------------------
# The router counts no bytes until ctflow says otherwise.
TOPO_ACCT=0 topo_up "$PREFIX"
ctfi_check "the router's nf_conntrack_acct is 0 before collectd starts" \
  test "$(sysctl_in "$ROUTER" net.netfilter.nf_conntrack_acct)" = 0

# The monitor: a table with one entry of its own, from an address in the
# LocalNetwork that no topology namespace has (were ctflow to read this
# table, that address would get series); no byte counters; and no DESTROY
# events (were ctflow to read its settings here, it would warn).
MON_HOST=192.168.77.99
ip netns add "$MON"
mon ip link set lo up
mon sysctl -qw net.netfilter.nf_conntrack_events=0
mon conntrack -I -p udp -s "$MON_HOST" -d 198.51.100.9 --sport 1000 \
  --dport 53 -t 600 2>/dev/null
mon conntrack -L 2>/dev/null >"$WORK/mon.before"
mon_acct=$(sysctl_in "$MON" net.netfilter.nf_conntrack_acct)

# Two idle connections from h3 made while the router's nf_conntrack_acct
# is 0: they never get counters.
(
  trap - ERR
  topo_hold "$PREFIX" h3 "$W4" 2 25 "$RELEASE"
) &
hold_pid=$!
old_entries() {
  topo_exec "$PREFIX" router conntrack -L -p tcp --orig-src "${TOPO_V4[h3]}" \
    --state ESTABLISHED 2>/dev/null | grep -c . || true
}
for ((i = 0; i < 50; i++)); do
  [[ $(old_entries) == 2 ]] && break
  sleep 0.1
done
ctfi_check "h3's 2 connections are established before collectd starts" \
  test "$(old_entries)" = 2

collectd_conf "$WORK" "" "  LocalNetwork \"$TOPO_LAN4_NET\"
  LocalNetwork \"$TOPO_LAN6_NET\"
  NetNamespace \"$ROUTER\"
  EnableAccounting true"
ctfi_start_collectd "$WORK" "$MON"
topo_counters "$PREFIX" >"$WORK/truth.before"

ctfi_check "EnableAccounting set the router's nf_conntrack_acct to 1" \
  test "$(sysctl_in "$ROUTER" net.netfilter.nf_conntrack_acct)" = 1
ctfi_log_once "$WORK" "EnableAccounting: set net.netfilter.nf_conntrack_acct=1 in network namespace $ROUTER" \
  info "ctflow saying it set the router's nf_conntrack_acct"

# Every thread of collectd, ctflow's event reader among them, is in the
# monitor namespace.
mon_ns=$(stat -L -c %i "/run/netns/$MON")
pid=$(cat "$WORK/launch.pid")
threads=$(stat -L -c %i /proc/"$pid"/task/*/ns/net | sort | uniq -c | tr -s ' \n' ' ')
ctfi_check "every collectd thread is in the monitor's namespace (inode $mon_ns): count inode =$threads" \
  test "$(stat -L -c %i /proc/"$pid"/task/*/ns/net | sort -u)" = "$mon_ns"

# --- traffic through the router, after ctflow started --------------------------
# Paced transfers last 2-3 s, across several reads.
ctfi_job "h1 tcp4 up" topo_tcp "$PREFIX" h1 "$W4" 5201 up 3M 12M
ctfi_job "h1 udp6" topo_udp "$PREFIX" h1 "$W6" 20 500 0.1
ctfi_job "h2 tcp6 down" topo_tcp "$PREFIX" h2 "$W6" 5202 down 2M 8M
ctfi_job "h2 ping4" topo_ping "$PREFIX" h2 "$W4" 5 200
ctfi_job "wan tcp4 via port forward up" topo_tcp "$PREFIX" wan "$FWD" "$TOPO_FWD_PORT" up 1M 8M
ctfi_job "srv ping6" topo_ping "$PREFIX" srv "$W6" 3
ctfi_wait_jobs "traffic through the router"

# h3 closes its connections while the router still has their NAT state.
touch "$RELEASE"
ctfi_check "h3's connections closed cleanly" wait "$hold_pid"

# Every entry of the router ends now: what each carried since ctflow's last
# read reaches it only through its DESTROY event, heard by a socket made in
# the router's namespace.
topo_exec "$PREFIX" router conntrack -F 2>/dev/null
n=$(collectd_reads "$WORK")
collectd_wait_reads "$WORK" $((n + 2))
topo_counters "$PREFIX" >"$WORK/truth.after"
collectd_stop "$WORK"
ctfi_check "collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
  test "$COLLECTD_STATUS" = 0

# --- what ctflow counted -----------------------------------------------------
for rf in "h1 4" "h1 6" "h2 4" "h2 6" "srv 4" "srv 6"; do
  read -r role fam <<<"$rf"
  truth_host "$WORK" "$WORK/truth.before" "$WORK/truth.after" "$role" "$fam"
done
offloaded=$(csv_last "$WORK" ctflow-total/current_connections-offloaded || echo none)
ctfi_check "ctflow-total/current_connections-offloaded is 0: this kernel has no flowtables ($offloaded)" \
  awk -v v="$offloaded" 'BEGIN { exit !(v != "none" && v + 0 == 0) }'
lost=$(csv_last "$WORK" ctflow-self/errors-events_lost || echo none)
ctfi_check "DESTROY events were counted, none lost (ctflow-self/errors-events_lost: $lost)" \
  test "$lost" = 0

# The warning's other wording, for nf_conntrack_acct=0, is a warning.
ctfi_log_once "$WORK" 'carry no byte counters' notice \
  "the notice that h3's entries from before EnableAccounting have no counters"
warned=$(grep -c 'ctflow: net.netfilter.nf_conntrack_events is 0' "$WORK/collectd.log" || true)
ctfi_check "no warning about the monitor's nf_conntrack_events=0 (found $warned)" \
  test "$warned" = 0

# --- the monitor namespace ------------------------------------------------------
mon conntrack -L 2>/dev/null >"$WORK/mon.after"
ctfi_check "the monitor's own table still holds its one entry: $(sed 's/ [0-9]* src=/ src=/' "$WORK/mon.after" | head -1)" \
  test "$(wc -l <"$WORK/mon.after")" = 1
ctfi_check "the monitor's nf_conntrack_acct is still $mon_acct" \
  test "$(sysctl_in "$MON" net.netfilter.nf_conntrack_acct)" = "$mon_acct"
ctfi_check "no series for $MON_HOST, the monitor's own entry's host" \
  test ! -e "$WORK/csv/$CTFI_HOST/ctflow-$MON_HOST"

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
