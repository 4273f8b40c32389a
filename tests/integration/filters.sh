#!/bin/bash
# filters.sh: the selecting options (Protocol, Mark, Zone; Host with and
# without IgnoreSelected) in the real collectd on the NAT router. One
# topology, one round of traffic, five collectd instances reading the same
# table at once, each with one option. The router marks h1's connections
# (ct mark 0x12a; h3's get 0x2b, a near miss for "0x2a/0xff") and puts
# h2's IPv6 TCP and UDP into conntrack zone 7. Each instance must count
# exactly the traffic its option selects, to 0.1% of the router's nftables
# counters of that traffic; hosts it leaves out have no series (Protocol,
# Mark, Zone: not counted at all; Host: counted in other); total == hosts
# + other at every read.
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

ctfi_require ip nft conntrack iperf3 ping timeout awk "$TOPO_PYTHON"

PREFIX=ctfq-$$-
WORK=$(mktemp -d /tmp/ctfq-filters.XXXXXX)
ZONE=7

# The instances: name | option | option ... (the <Plugin ctflow> lines).
# The host instance gives the router's LAN addresses series of their own:
# the IGMP reports its bridge sends pass no truth counter.
INSTANCES=(
  "udp|Protocol \"udp\""
  "mark|Mark \"0x2a/0xff\""
  "zone|Zone $ZONE"
  "host|Host \"${TOPO_V4[h1]}\" \"${TOPO_V4[router]}\" \"${TOPO_V6[router]}\""
  "ignore|Host \"/^192\\\\.168\\\\.77\\\\.1[23]\$/\"|IgnoreSelected true"
)

stop_instances() {
  local i
  for i in "${!INSTANCES[@]}"; do
    if collectd_running "$WORK/$i"; then collectd_stop "$WORK/$i"; fi
  done
}
ctfi_traps_topology stop_instances

# Marks and zones on the router, and truth counters of what they select
# in the topology's truth table (topo_counters lists them): UDP only,
# udp_<role>_v<fam>_<tx|rx>, and zone_h2_v6_<tx|rx>. The zone is set in both directions before conntrack (raw
# priority): a reply must be looked up in the zone of its entry.
selecting_ruleset() {
  local role fam sel addr
  cat <<NFT
table inet ctfq_select {
  chain raw {
    type filter hook prerouting priority raw; policy accept;
    meta l4proto { tcp, udp } ip6 saddr ${TOPO_V6[h2]} ct zone set $ZONE
    meta l4proto { tcp, udp } ip6 daddr ${TOPO_V6[h2]} ct zone set $ZONE
  }
  chain mangle {
    type filter hook prerouting priority mangle; policy accept;
    ct state new ip saddr ${TOPO_V4[h1]} ct mark set 0x12a
    ct state new ip6 saddr ${TOPO_V6[h1]} ct mark set 0x12a
    ct state new ip saddr ${TOPO_V4[h3]} ct mark set 0x2b
    ct state new ip6 saddr ${TOPO_V6[h3]} ct mark set 0x2b
  }
}
NFT
  echo "table inet ctfi_truth {"
  for role in $TOPO_LAN_ROLES; do
    for fam in 4 6; do
      printf '  counter udp_%s_v%s_tx {\n  }\n  counter udp_%s_v%s_rx {\n  }\n' \
        "$role" "$fam" "$role" "$fam"
    done
  done
  printf '  counter zone_h2_v6_tx {\n  }\n  counter zone_h2_v6_rx {\n  }\n'
  echo "  chain selected_forward {"
  echo "    type filter hook forward priority filter; policy accept;"
  for role in $TOPO_LAN_ROLES; do
    for fam in 4 6; do
      if [[ $fam == 4 ]]; then sel=ip addr=${TOPO_V4[$role]}; else sel=ip6 addr=${TOPO_V6[$role]}; fi
      printf '    meta l4proto udp %s saddr %s counter name "udp_%s_v%s_tx"\n' "$sel" "$addr" "$role" "$fam"
      printf '    meta l4proto udp %s daddr %s counter name "udp_%s_v%s_rx"\n' "$sel" "$addr" "$role" "$fam"
    done
  done
  # What zone $ZONE holds: h2's IPv6 TCP and UDP (its ping6 stays in 0).
  printf '    ct zone %s ip6 saddr %s counter name "zone_h2_v6_tx"\n' "$ZONE" "${TOPO_V6[h2]}"
  printf '    ct zone %s ip6 daddr %s counter name "zone_h2_v6_rx"\n' "$ZONE" "${TOPO_V6[h2]}"
  echo "  }"
  echo "}"
}

# --- setup -------------------------------------------------------------------
start=$SECONDS
topo_up "$PREFIX"
selecting_ruleset | topo_exec "$PREFIX" router nft -f -
for i in "${!INSTANCES[@]}"; do
  body=${INSTANCES[$i]#*|}
  collectd_conf "$WORK/$i" "" "  LocalNetwork \"$TOPO_LAN4_NET\"
  LocalNetwork \"$TOPO_LAN6_NET\"
  ${body//|/$'\n'  }"
  collectd_start "$WORK/$i" "${PREFIX}router"
done
for i in "${!INSTANCES[@]}"; do
  if ! collectd_wait_reads "$WORK/$i" 1; then
    ctfi_not_ok "${INSTANCES[$i]%%|*}: collectd did not complete a ctflow read; its log:"
    sed 's/^/# /' "$WORK/$i/collectd.log"
    exit 1
  fi
done
topo_counters "$PREFIX" >"$WORK/truth.before"

# --- traffic -------------------------------------------------------------------
W4=${TOPO_V4[wan]}
W6=${TOPO_V6[wan]}
ctfi_job "h1 tcp4 up" topo_tcp "$PREFIX" h1 "$W4" 5201 up 2M 16M
ctfi_job "h1 tcp6 down" topo_tcp "$PREFIX" h1 "$W6" 5202 down 1M 8M
ctfi_job "h1 udp4" topo_udp "$PREFIX" h1 "$W4" 20 500 0.05
ctfi_job "h1 ping4" topo_ping "$PREFIX" h1 "$W4" 3
ctfi_job "h2 tcp4 down" topo_tcp "$PREFIX" h2 "$W4" 5203 down 1M 8M
ctfi_job "h2 tcp6 up (zone $ZONE)" topo_tcp "$PREFIX" h2 "$W6" 5204 up 1M 8M
ctfi_job "h2 udp6 (zone $ZONE)" topo_udp "$PREFIX" h2 "$W6" 10 700 0.1
ctfi_job "h2 ping6" topo_ping "$PREFIX" h2 "$W6" 3
ctfi_job "h3 tcp4 up" topo_tcp "$PREFIX" h3 "$W4" 5205 up 500K
ctfi_job "h3 udp4" topo_udp "$PREFIX" h3 "$W4" 10 300 0.1
ctfi_job "h3 ping6" topo_ping "$PREFIX" h3 "$W6" 3
ctfi_job "srv udp4" topo_udp "$PREFIX" srv "$W4" 5 100 0.1
ctfi_wait_jobs "traffic"

# Two quiet reads of every instance, then the truth, then stop.
for i in "${!INSTANCES[@]}"; do
  n=$(collectd_reads "$WORK/$i")
  collectd_wait_reads "$WORK/$i" $((n + 2)) ||
    ctfi_not_ok "${INSTANCES[$i]%%|*}: no two more reads"
done
topo_counters "$PREFIX" >"$WORK/truth.after"
# For a look with CTFI_KEEP set.
topo_exec "$PREFIX" router conntrack -L >"$WORK/conntrack.txt" 2>/dev/null || true
stop_instances

# --- checks ----------------------------------------------------------------------
# Prints "TX_PKTS TX_BYTES RX_PKTS RX_BYTES" of the truth counters named
# "ROLE FAM" (ROLE as in truth_growth, e.g. h1 or udp_h1), summed.
truth_sum() {
  local spec tp=0 tb=0 rp=0 rb=0 a b c d
  for spec in "$@"; do
    # shellcheck disable=SC2086 # "ROLE FAM" splits on purpose
    read -r a b c d <<<"$(truth_growth "$WORK/truth.before" "$WORK/truth.after" $spec)"
    tp=$((tp + a)) tb=$((tb + b)) rp=$((rp + c)) rb=$((rb + d))
  done
  echo "$tp $tb $rp $rb"
}

# Checks the instance in DIR: every host of the topology with its series
# against the truth counters, every other LAN host's address without
# series.
# argv: dir, name, then "ADDR|ROLE FAM,..." for the hosts that must have
# series (the "ROLE FAM" counters truth_sum takes, comma separated).
check_hosts() {
  local dir=$1 name=$2 item addr specs role fam want=" "
  shift 2
  for item in "$@"; do
    addr=${item%%|*}
    want+="$addr "
    IFS=, read -ra specs <<<"${item#*|}"
    truth_check "$dir" "$addr" "" "$name: $addr" "$(truth_sum "${specs[@]}")"
  done
  for role in $TOPO_LAN_ROLES; do
    for fam in 4 6; do
      if [[ $fam == 4 ]]; then addr=${TOPO_V4[$role]}; else addr=${TOPO_V6[$role]}; fi
      [[ $want != *" $addr "* ]] || continue
      ctfi_check "$name: $addr has no series of its own" \
        test ! -e "$dir/csv/$CTFI_HOST/ctflow-$addr"
    done
  done
}

# total == hosts + other at every read, bytes and packets, both ways.
check_sums() {
  local dir=$1 name=$2 t col
  for t in if_octets if_packets; do
    for col in 1 2; do
      ctfi_check "$name: ctflow-total/$t value $col == hosts + other at every read" \
        csv_total_mismatches "$dir" "$t" "$col" 2>/dev/null
    done
  done
}

# For an instance that counts selected entries only: other carried
# nothing, and the router's addresses (its bridge's IGMP reports) have no
# series.
check_only_selected() {
  local got addr
  got=$(csv_last "$1" ctflow-other/if_octets 1 || echo none)
  got+=" $(csv_last "$1" ctflow-other/if_octets 2 || echo none)"
  ctfi_check "$2: ctflow-other carried nothing (rx tx: $got)" test "$got" = "0 0"
  for addr in "${TOPO_V4[router]}" "${TOPO_V6[router]}"; do
    ctfi_check "$2: the router's $addr has no series" \
      test ! -e "$1/csv/$CTFI_HOST/ctflow-$addr"
  done
}

U=$WORK/0 M=$WORK/1 Z=$WORK/2 H=$WORK/3 I=$WORK/4
H1=${TOPO_V4[h1]} H1_6=${TOPO_V6[h1]} H2=${TOPO_V4[h2]} H2_6=${TOPO_V6[h2]}
H3=${TOPO_V4[h3]} H3_6=${TOPO_V6[h3]} SRV=${TOPO_V4[srv]}

echo "# Protocol \"udp\": the UDP of every host, nothing else"
check_hosts "$U" udp "$H1|udp_h1 4" "$H2_6|udp_h2 6" "$H3|udp_h3 4" "$SRV|udp_srv 4"
truth_check "$U" total "" "udp: total" \
  "$(truth_sum "udp_h1 4" "udp_h2 6" "udp_h3 4" "udp_srv 4")"
check_only_selected "$U" udp
tcp=$(csv_last "$U" ctflow-total/current_connections-tcp || echo none)
ctfi_check "udp: no TCP connection counted ($tcp)" \
  awk -v n="$tcp" 'BEGIN { exit !(n != "none" && n + 0 == 0) }'
check_sums "$U" udp

echo "# Mark \"0x2a/0xff\": h1's connections (0x12a), not h3's (0x2b)"
check_hosts "$M" mark "$H1|h1 4" "$H1_6|h1 6"
truth_check "$M" total "" "mark: total" "$(truth_sum "h1 4 6")"
check_only_selected "$M" mark
check_sums "$M" mark

echo "# Zone $ZONE: h2's IPv6 TCP and UDP"
check_hosts "$Z" zone "$H2_6|zone_h2 6"
truth_check "$Z" total "" "zone: total" "$(truth_sum "zone_h2 6")"
check_only_selected "$Z" zone
check_sums "$Z" zone

echo "# Host \"$H1\": h1's IPv4 has series; everyone else is in other"
check_hosts "$H" host "$H1|h1 4"
truth_check "$H" other "" "host: other (everything but $H1)" \
  "$(truth_sum "h1 6" "h2 4 6" "h3 4 6" "srv 4 6")"
check_sums "$H" host

echo "# Host /^192\\.168\\.77\\.1[23]\$/ with IgnoreSelected true: h2 and h3 (IPv4) in other"
check_hosts "$I" ignore "$H1|h1 4" "$H1_6|h1 6" "$H2_6|h2 6" "$H3_6|h3 6" "$SRV|srv 4"
truth_check "$I" other "" "ignore: other ($H2, $H3)" "$(truth_sum "h2 4" "h3 4")"
check_sums "$I" ignore

for i in "${!INSTANCES[@]}"; do
  errors=$(grep -c '\[error\]' "$WORK/$i/collectd.log" || true)
  ctfi_check "${INSTANCES[$i]%%|*}: no error in the log (found $errors)" test "$errors" = 0
done

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
