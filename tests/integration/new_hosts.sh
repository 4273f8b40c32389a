#!/bin/bash
# new_hosts.sh: a LAN guest that mints IPv6 addresses (as privacy
# addresses do, by the hundred here) cannot mint series at will, in the
# real collectd:
#   - the first read gives every host already in the table its series,
#     however many;
#   - after it, at most MaxNewHosts new IPv4 and as many new IPv6 host
#     instances appear per read, the rest waiting in "other" and counted
#     in ctflow-self/errors-hosts_deferred;
#   - IPv6 hosts hold at most MaxHosts less the IPv4 network's room; those
#     beyond are counted in ctflow-self/errors-hosts_no_room;
#   - an IPv4 newcomer gets its series at once meanwhile, and again once
#     the IPv6 share is full;
#   - a heavy flow gets its ctflow-flows series although the guest's
#     one-datagram flows filled the flow key table
#     (ctflow-self/errors-flow_keys_evicted);
#   - total is the sum of the host buckets and other at every read.
# Needs root. Runs standalone with CTFLOW_SO=.../ctflow.so.
set -eEuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=${TESTS_DIR:-$here/..}
# shellcheck source=tests/lib/topology.sh
. "$TESTS_DIR/lib/topology.sh"
# shellcheck source=tests/lib/collectd.sh
. "$TESTS_DIR/lib/collectd.sh"

ctfi_require ip nft conntrack iperf3 ping timeout awk "$TOPO_PYTHON"

PREFIX=ctfm-$$-
WORK=$(mktemp -d /tmp/ctfm-new_hosts.XXXXXX)
ctfi_traps_topology

MAX_HOSTS=200
MAX_NEW=8
# The LAN's IPv4 network is a /24: its 256 addresses keep their places
# from IPv6 hosts, up to half of MaxHosts (here half: 100), and IPv6 hosts
# get the rest.
V6_SHARE=$((MAX_HOSTS - MAX_HOSTS / 2))
AT_START=20 # IPv6 addresses h3 sends from before collectd starts
MINTED=300  # IPv6 addresses h1 sends from once it runs
W4=${TOPO_V4[wan]}
H2=${TOPO_V4[h2]}
H3=${TOPO_V4[h3]}
H2_KEY=$H2-$W4-tcp-5201
start=$SECONDS

# Sends one UDP datagram to the echo server from each address PREFIX<i in
# hex>, i from FIRST on, and waits at most 3 s for the answers; those still
# unanswered send again once (the router resolves hundreds of new
# neighbours at once, and may drop a reply meanwhile; the same 5-tuple is
# the same conntrack entry), and wait 3 s more. Prints how many answered.
# argv: prefix, first, count, server address, port.
MINT_CLIENT='
import socket, sys, time
prefix, first, count, host, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
socks = []
for i in range(first, first + count):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("%s%x" % (prefix, i), 0))
    s.sendto(b"m", (host, port))
    socks.append(s)
def collect(socks):
    missing, end = [], time.monotonic() + 3
    for s in socks:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            s.recv(64)
        except OSError:
            missing.append(s)
    return missing
missing = collect(socks)
for s in missing:
    s.sendto(b"m", (host, port))
print(count - len(collect(missing)))
'

# mint ROLE PREFIX COUNT: adds COUNT IPv6 addresses PREFIX1, PREFIX2, ...
# (hex) to ROLE's eth0 and sends one datagram from each to the WAN's echo
# server: COUNT new hosts, one conntrack entry each. Prints the answers.
mint() {
  local role=$1 prefix=$2 count=$3 i
  for ((i = 1; i <= count; i++)); do
    printf 'address add %s%x/64 dev eth0 nodad\n' "$prefix" "$i"
  done | ip -n "$PREFIX$role" -batch -
  timeout 20 ip netns exec "$PREFIX$role" "$TOPO_PYTHON" -c "$MINT_CLIENT" \
    "$prefix" 1 "$count" "${TOPO_V6[wan]}" "$TOPO_UDP_PORT"
}

# Prints "EPOCH V4 V6" for every ctflow read: how many host instances of
# each family (an IPv6 one has a colon) have their first line at it.
new_instances_per_read() {
  local d instance
  {
    csv_values "$WORK" ctflow-self/count-flows | awk '{ print "read", $1 }'
    for d in "$WORK/csv/$CTFI_HOST"/ctflow-*; do
      instance=${d##*/ctflow-}
      case $instance in total | other | kernel | self | flows) continue ;; esac
      printf 'first %s %s\n' "$(csv_time_of "$WORK" "ctflow-$instance/if_octets" 1)" "$instance"
    done
  } | awk '
    $1 == "read" { r[n++] = $2; next }
    {
      for (i = 0; i < n; i++) {
        d = $2 - r[i]
        if (d < 0) d = -d
        if (d < 0.3) break
      }
      if (i == n) { print "unmatched", $2, $3; next }
      if (index($3, ":")) v6[i]++; else v4[i]++
    }
    END { for (i = 0; i < n; i++) print r[i], v4[i] + 0, v6[i] + 0 }'
}

# Prints the last value of SERIES written by a read before the one at
# EPOCH.
value_before() {
  { csv_values "$WORK" "$1" || true; } |
    awk -v t="$2" '$1 < t - 0.3 { v = $2 } END { print v }'
}

# Prints how many ctflow reads wrote their lines after EPOCH and before
# the read at EPOCH2: a host whose first line is at EPOCH2 got its series
# at the first read after EPOCH when 0, at the second when 1 (a read may
# have dumped the table before EPOCH and written after it).
reads_between() {
  csv_values "$WORK" ctflow-self/count-flows |
    awk -v a="$1" -v b="$2" '$1 > a && $1 < b - 0.3 { n++ } END { print n + 0 }'
}

# Prints the most new instances of column N (2: IPv4, 3: IPv6) any read
# after the first made, and when.
most_after_first() {
  grep -v unmatched "$WORK/new" | tail -n +2 |
    awk -v c="$1" '$c + 0 > most + 0 || NR == 1 { most = $c; at = $1 } END { print most + 0, at }'
}

# Waits (at most 30 s) until ctflow-self/errors-hosts_no_room is above 0.
share_fills() {
  local i
  for ((i = 0; i < 150; i++)); do
    (($(csv_last "$WORK" ctflow-self/errors-hosts_no_room 2>/dev/null || echo 0) > 0)) && return 0
    sleep 0.2
  done
  return 1
}

topo_up "$PREFIX"
answered=$(mint h3 fdc7:f10e:77::3: "$AT_START")
ctfi_check "h3 sent from $AT_START IPv6 addresses before collectd started ($answered answered)" \
  test "$answered" = "$AT_START"

collectd_conf "$WORK" "" "  LocalNetwork \"$TOPO_LAN4_NET\" \"$TOPO_LAN6_NET\"
  MaxHosts $MAX_HOSTS
  MaxNewHosts $MAX_NEW
  TopFlows 3
  MaxFlowKeys 50"
ctfi_start_collectd "$WORK" "${PREFIX}router"

answered=$(mint h1 fdc7:f10e:77::1: "$MINTED")
ctfi_check "h1 sent from $MINTED IPv6 addresses ($answered answered)" \
  test "$answered" = "$MINTED"
minted_at=$(collectd_reads "$WORK")

# Three reads into the guest's burst, h2 starts talking over IPv4: a heavy
# upload, its flow key new too.
collectd_wait_reads "$WORK" $((minted_at + 3))
h2_at=$(date +%s.%N)
ctfi_check "h2 uploaded 4 MiB over IPv4" topo_tcp "$PREFIX" h2 "$W4" 5201 up 4M
ctfi_check "the IPv6 share filled up: errors-hosts_no_room rose within 30 s" share_fills
h3_at=$(date +%s.%N)
ctfi_check "h3 pinged over IPv4 once the IPv6 share was full" topo_ping "$PREFIX" h3 "$W4" 2
collectd_wait_reads "$WORK" $(($(collectd_reads "$WORK") + 3))
collectd_stop "$WORK"
ctfi_check "collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
  test "$COLLECTD_STATUS" = 0

new_instances_per_read >"$WORK/new"
echo "# new host instances per read (epoch, IPv4, IPv6):"
sed 's/^/#   /' "$WORK/new"
ctfi_check "every host instance's first line is at a ctflow read" \
  test -z "$(grep unmatched "$WORK/new" || true)"
read -r _ first_v4 first_v6 < <(grep -v unmatched "$WORK/new" | head -1)
ctfi_check "the first read gave every host in the table its series: $first_v6 IPv6 (h3 had $AT_START), $first_v4 IPv4" \
  test "$first_v6" = "$AT_START"
read -r most_v6 most_v6_at < <(most_after_first 3)
read -r most_v4 most_v4_at < <(most_after_first 2)
ctfi_check "after the first read, at most $MAX_NEW new IPv6 instances per read (most: $most_v6, at $most_v6_at)" \
  test "$most_v6" -le "$MAX_NEW"
ctfi_check "after the first read, at most $MAX_NEW new IPv4 instances per read (most: $most_v4, at $most_v4_at)" \
  test "$most_v4" -le "$MAX_NEW"
ctfi_check "some read made $MAX_NEW new IPv6 instances: MaxNewHosts is what held them back" \
  test "$most_v6" = "$MAX_NEW"
v6_instances=$(grep -v unmatched "$WORK/new" | awk '{ n += $3 } END { print n + 0 }')
ctfi_check "IPv6 hosts got $v6_instances instances in all: MaxHosts $MAX_HOSTS less the IPv4 room, $V6_SHARE" \
  test "$v6_instances" = "$V6_SHARE"

h2_first=$(csv_time_of "$WORK" "ctflow-$H2/if_octets" 1 || echo 0)
h2_late=$(reads_between "$h2_at" "$h2_first")
ctfi_check "h2's IPv4 series began at the first or second read after its first packet ($h2_at; first line $h2_first, $h2_late reads between)" \
  awk -v f="$h2_first" -v t="$h2_at" -v n="$h2_late" 'BEGIN { exit !(f > t && n <= 1) }'
deferred_before=$(value_before ctflow-self/errors-hosts_deferred "$h2_first")
deferred_then=$(csv_at "$WORK" ctflow-self/errors-hosts_deferred "$h2_first" || echo none)
ctfi_check "IPv6 hosts were deferred in that same read (errors-hosts_deferred $deferred_before -> $deferred_then)" \
  awk -v a="$deferred_before" -v b="$deferred_then" 'BEGIN { exit !(a != "" && b != "none" && b > a) }'
h3_first=$(csv_time_of "$WORK" "ctflow-$H3/if_octets" 1 || echo 0)
h3_late=$(reads_between "$h3_at" "$h3_first")
ctfi_check "h3's IPv4 series began at the first or second read after its ping, the IPv6 share full ($h3_at; first line $h3_first, $h3_late reads between)" \
  awk -v f="$h3_first" -v t="$h3_at" -v n="$h3_late" 'BEGIN { exit !(f > t && n <= 1) }'
deferred=$(csv_last "$WORK" ctflow-self/errors-hosts_deferred || echo 0)
no_room=$(csv_last "$WORK" ctflow-self/errors-hosts_no_room || echo 0)
ctfi_check "ctflow-self/errors-hosts_deferred counted deferred hosts ($deferred)" test "$deferred" -gt 0
ctfi_check "ctflow-self/errors-hosts_no_room counted hosts beyond the IPv6 share ($no_room)" test "$no_room" -gt 0

ctfi_check "h2's heavy flow has its series (ctflow-flows/if_octets-$H2_KEY) in a full key table" \
  csv_has "$WORK" "ctflow-flows/if_octets-$H2_KEY"
evicted=$(csv_last "$WORK" ctflow-self/errors-flow_keys_evicted || echo 0)
ctfi_check "ctflow-self/errors-flow_keys_evicted counted the keys that lost their place ($evicted)" \
  test "$evicted" -gt 0

ctfi_total_is_sum "$WORK"
ctfi_derive_never_down "$WORK"
echo "# runtime $((SECONDS - start)) s"
ctfi_finish
