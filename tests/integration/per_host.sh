#!/bin/bash
# per_host.sh: ctflow inside the real collectd on a NAT router, measured
# against what it cannot see itself:
#   - bytes and packets: the router's per-address nftables counters on the
#     forward path (within 0.1%), IPv4 and IPv6, outbound through
#     masquerade, inbound through the port forward (host rule 2) and routed
#     IPv6;
#   - connections, peers, table size: conntrack -L / -C, classified here by
#     the host rules (docs/DESIGN.md), at a moment the table holds still
#     across a read.
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

PREFIX=ctfi-ph$$-
WORK=$(mktemp -d /tmp/ctfi-per_host.XXXXXX)
ctfi_traps_topology

W4=${TOPO_V4[wan]}
W6=${TOPO_V6[wan]}
X4=${TOPO_V4[wan2]}
X6=${TOPO_V6[wan2]}
FWD=${TOPO_V4[router_wan]}
S6=${TOPO_V6[srv]}
LOCAL_NETS="$TOPO_LAN4_NET,$TOPO_LAN6_NET"
# The LAN addresses with their own ground truth counters: "role fam addr".
LAN_ADDRS=()
for role in $TOPO_LAN_ROLES; do
  LAN_ADDRS+=("$role 4 ${TOPO_V4[$role]}" "$role 6 ${TOPO_V6[$role]}")
done
TCP_STATES="SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT CLOSE_WAIT LAST_ACK TIME_WAIT CLOSE SYN_SENT2"

# Classifies conntrack -L output (stdin) by the host rules, as
# "<bucket> <series> <value>" lines: every bucket's connection gauges,
# hosts' peers, total's TCP states, the number of entries, and per host the
# established TCP connections to the hold port (those the test opened).
# argv: local CIDRs (comma separated), buckets always listed, hold port.
CLASSIFY='
import collections, ipaddress, sys
nets = [ipaddress.ip_network(n) for n in sys.argv[1].split(",")]
always = sys.argv[2].split(",")
hold_port = sys.argv[3]
def local(a):
    ip = ipaddress.ip_address(a)
    return any(ip.version == n.version and ip in n for n in nets)
CLASS = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}
# conntrack-tools prints state 9 (SYN_SENT2) as LISTEN.
STATE = {"LISTEN": "SYN_SENT2"}
conns = collections.defaultdict(collections.Counter)
peers = collections.defaultdict(set)
held = collections.Counter()
states = collections.Counter()
entries = 0
for line in sys.stdin:
    f = line.split()
    if len(f) < 4 or not f[1].isdigit():
        continue
    entries += 1
    proto = int(f[1])
    src = [t[4:] for t in f if t.startswith("src=")]
    dst = [t[4:] for t in f if t.startswith("dst=")]
    dport = [t[6:] for t in f if t.startswith("dport=")]
    o_src, o_dst, r_src, r_dst = src[0], dst[0], src[1], dst[1]
    if local(o_src) and not local(o_dst):        # rule 1
        host, remote = str(ipaddress.ip_address(o_src)), o_dst
    elif local(r_src) and not local(r_dst):      # rule 2
        host, remote = str(ipaddress.ip_address(r_src)), r_dst
    else:                                        # rule 3
        host, remote = "other", None
    cls = CLASS.get(proto, "other")
    conns[host][cls] += 1
    conns["total"][cls] += 1
    if remote is not None:
        peers[host].add(ipaddress.ip_address(remote))
    if proto == 6:
        state = STATE.get(f[3], f[3])
        states[state] += 1
        if state == "ESTABLISHED" and dport and dport[0] == hold_port:
            held[host] += 1
for b in sorted(set(always) | set(conns)):
    c = conns[b]
    print(b, "current_connections", sum(c.values()))
    for cls in ("tcp", "udp", "icmp", "other"):
        print(b, "current_connections-" + cls, c[cls])
    if b not in ("total", "other"):
        print(b, "count-peers", len(peers[b]))
        print(b, "held", held[b])
for s in "SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT CLOSE_WAIT LAST_ACK TIME_WAIT CLOSE SYN_SENT2".split():
    print("total", "tcp_connections-" + s, states[s])
print("table", "entries", entries)
'

# Captures conntrack's view into FILE.raw (conntrack -L), FILE.count
# (conntrack -C) and FILE.max (nf_conntrack_max: global, and the benchmark
# may change it meanwhile); quick, so that it fits between two reads.
capture() {
  topo_exec "$PREFIX" router conntrack -L >"$1.raw" 2>/dev/null
  topo_exec "$PREFIX" router conntrack -C >"$1.count"
  topo_exec "$PREFIX" router cat /proc/sys/net/netfilter/nf_conntrack_max >"$1.max"
}

# snapshot FILE [captured]: writes FILE, conntrack's view classified
# ("<bucket> <series> <value>"), from a fresh capture or, given a second
# argument, from the one already taken.
snapshot() {
  local always="total,other" a
  for a in "${LAN_ADDRS[@]}"; do always+=",${a##* }"; done
  [[ -n ${2:-} ]] || capture "$1"
  {
    "$TOPO_PYTHON" -c "$CLASSIFY" "$LOCAL_NETS" "$always" "$TOPO_HOLD_PORT" <"$1.raw"
    echo "table count $(cat "$1.count")"
    echo "table max $(cat "$1.max")"
  } >"$1"
}

# Prints the value of "<bucket> <series>" in snapshot file FILE.
snap_value() {
  awk -v b="$2" -v s="$3" '$1 == b && $2 == s { print $3; found = 1 }
    END { exit !found }' "$1"
}

# Returns 0 when numbers A and B are equal.
num_eq() {
  awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 == b + 0) }'
}

# --- setup -------------------------------------------------------------------
start=$SECONDS
topo_up "$PREFIX"
# Counters on every entry; and every entry of the run stays in the table to
# the end (TCP's TIME_WAIT is 120 s already), so that the entries a host
# began since collectd started are exactly those conntrack -L lists then.
topo_exec "$PREFIX" router sysctl -qw net.netfilter.nf_conntrack_acct=1 \
  net.netfilter.nf_conntrack_icmp_timeout=300 \
  net.netfilter.nf_conntrack_icmpv6_timeout=300 \
  net.netfilter.nf_conntrack_udp_timeout=300 \
  net.netfilter.nf_conntrack_udp_timeout_stream=300 \
  net.netfilter.nf_conntrack_tcp_timeout_close=300 \
  net.netfilter.nf_conntrack_tcp_timeout_close_wait=300 \
  net.netfilter.nf_conntrack_tcp_timeout_last_ack=300

collectd_conf "$WORK" "" "  LocalNetwork \"$TOPO_LAN4_NET\"
  LocalNetwork \"$TOPO_LAN6_NET\""
ctfi_start_collectd "$WORK" "${PREFIX}router"
# Series start at zero at this first read (accounting rule 1); no LAN host
# has an entry yet.
topo_counters "$PREFIX" >"$WORK/truth.before"

# --- phase 1: traffic of every kind, spanning several reads ------------------
# Paced transfers (-b) last 2-3 s; unpaced ones are over within a read.
ctfi_job "h1 tcp4 up" topo_tcp "$PREFIX" h1 "$W4" 5201 up 4M 16M
ctfi_job "h1 tcp4 down" topo_tcp "$PREFIX" h1 "$W4" 5202 down 3M 12M
ctfi_job "h1 tcp6 up" topo_tcp "$PREFIX" h1 "$W6" 5203 up 2M 8M
ctfi_job "h1 udp4" topo_udp "$PREFIX" h1 "$W4" 40 800 0.05
ctfi_job "h1 udp6" topo_udp "$PREFIX" h1 "$W6" 20 500 0.1
ctfi_job "h1 ping4" topo_ping "$PREFIX" h1 "$W4" 5 1000
ctfi_job "h1 ping6" topo_ping "$PREFIX" h1 "$W6" 5
ctfi_job "h1 ping4 wan2" topo_ping "$PREFIX" h1 "$X4" 3
ctfi_job "h1 ping6 wan2" topo_ping "$PREFIX" h1 "$X6" 3
ctfi_job "h2 tcp4 down" topo_tcp "$PREFIX" h2 "$W4" 5204 down 4M 16M
ctfi_job "h2 tcp6 up" topo_tcp "$PREFIX" h2 "$W6" 5205 up 1M
ctfi_job "h2 tcp6 down" topo_tcp "$PREFIX" h2 "$W6" 5206 down 2M 8M
ctfi_job "h2 udp4" topo_udp "$PREFIX" h2 "$W4" 5 200 0.1
ctfi_job "h2 ping6" topo_ping "$PREFIX" h2 "$W6" 5
ctfi_job "h2 udp6 wan2" topo_udp "$PREFIX" h2 "$X6" 8 700 0.1
# Both ends local: host rule 3, host "other".
ctfi_job "h2 ping4 router" topo_ping "$PREFIX" h2 "${TOPO_V4[router]}" 5 300
ctfi_job "h2 ping6 router" topo_ping "$PREFIX" h2 "${TOPO_V6[router]}" 5
ctfi_job "h3 tcp4 up" topo_tcp "$PREFIX" h3 "$W4" 5207 up 1M
ctfi_job "h3 tcp6 down" topo_tcp "$PREFIX" h3 "$W6" 5208 down 2M 8M
ctfi_job "h3 udp6" topo_udp "$PREFIX" h3 "$W6" 10 1200 0.1
ctfi_job "h3 ping4" topo_ping "$PREFIX" h3 "$W4" 5
ctfi_job "h3 tcp4 wan2 up" topo_tcp "$PREFIX" h3 "$X4" 5209 up 500K
ctfi_job "srv ping4" topo_ping "$PREFIX" srv "$W4" 3
ctfi_job "srv udp4" topo_udp "$PREFIX" srv "$W4" 5 100 0.1
ctfi_job "srv ping6 wan2" topo_ping "$PREFIX" srv "$X6" 3
# Inbound: through the port forward (rule 2), and routed IPv6.
# One server port: the upload, then the download.
port_forward_up_down() {
  topo_tcp "$PREFIX" wan "$FWD" "$TOPO_FWD_PORT" up 3M 12M &&
    topo_tcp "$PREFIX" wan "$FWD" "$TOPO_FWD_PORT" down 2M 8M
}
ctfi_job "wan tcp4 via port forward up+down" port_forward_up_down
ctfi_job "wan tcp6 to srv up" topo_tcp "$PREFIX" wan "$S6" 5201 up 2M 8M
ctfi_job "wan tcp6 from srv" topo_tcp "$PREFIX" wan "$S6" 5202 down 1M
ctfi_job "wan udp6 to srv" topo_udp "$PREFIX" wan "$S6" 10 300 0.1
ctfi_job "wan ping6 to srv" topo_ping "$PREFIX" wan "$S6" 5
ctfi_wait_jobs "traffic phase 1"

# One packet conntrack must call invalid (SYN+FIN), sent by the router
# itself so that no truth counter sees it: the kernel's "invalid" statistic
# then has something to show.
SYN_FIN='
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.sendto(struct.pack("!HHIIBBHHH", 40000, 9, 1, 0, 5 << 4, 0x03, 1024, 0, 0), (sys.argv[1], 0))
'
topo_exec "$PREFIX" router "$TOPO_PYTHON" -c "$SYN_FIN" "$W4"

# --- phase 2: connections held open while the table holds still -------------
# Held until the check below is done (at most 20 s).
RELEASE=$WORK/release
declare -A HELD=(["${TOPO_V4[h1]}"]=3 ["${TOPO_V6[h1]}"]=2 ["${TOPO_V4[h2]}"]=1 ["$S6"]=2)
ctfi_job "h1 hold4" topo_hold "$PREFIX" h1 "$W4" 3 20 "$RELEASE"
ctfi_job "h1 hold6" topo_hold "$PREFIX" h1 "$W6" 2 20 "$RELEASE"
ctfi_job "h2 hold4" topo_hold "$PREFIX" h2 "$W4" 1 20 "$RELEASE"
ctfi_job "wan hold6 to srv" topo_hold "$PREFIX" wan "$S6" 2 20 "$RELEASE"

# Waits until conntrack shows every held connection established.
held_open() {
  local i a
  for ((i = 0; i < 50; i++)); do
    snapshot "$WORK/held"
    for a in "${!HELD[@]}"; do
      [[ $(snap_value "$WORK/held" "$a" held) == "${HELD[$a]}" ]] || continue 2
    done
    return 0
  done
  return 1
}
ctfi_check "conntrack -L shows the 8 connections the test holds open, per host" held_open

# Compares one read's gauges with conntrack's listing. The listing is
# captured right after read n (S1) and right after read n+1 (S2); when both
# classify alike and S1 ended before read n+1 began, the table read n+1
# dumped was that one (only idle held connections and ended flows are in
# it: nothing appears, and an entry in S1 and S2 was there in between).
gauge_check() {
  local n t1 e dur a series want got attempt
  for attempt in 1 2 3 4 5; do
    n=$(collectd_reads "$WORK")
    collectd_wait_reads "$WORK" $((n + 1)) || return 1
    capture "$WORK/s1"
    t1=$(date +%s.%N)
    collectd_wait_reads "$WORK" $((n + 2)) || return 1
    capture "$WORK/s2"
    snapshot "$WORK/s1" captured
    snapshot "$WORK/s2" captured
    e=$(csv_time_of "$WORK" ctflow-self/count-flows $((n + 2)))
    dur=$(csv_at "$WORK" ctflow-self/duration-read "$e")
    if ! cmp -s "$WORK/s1" "$WORK/s2"; then
      echo "# attempt $attempt: the table or its limit changed between two reads; again"
      continue
    fi
    if ! awk -v t1="$t1" -v e="$e" -v d="$dur" 'BEGIN { exit !(t1 < e - d - 0.01) }'; then
      echo "# attempt $attempt: conntrack -L overlapped the read; again"
      continue
    fi
    echo "# gauges of the read at $e (conntrack -L before and after it agree)"
    while read -r a series want; do
      [[ $a != table && $series != held ]] || continue
      if ! got=$(csv_at "$WORK" "ctflow-$a/$series" "$e"); then
        ctfi_not_ok "ctflow-$a/$series: no value from the read at $e (conntrack -L: $want)"
      elif num_eq "$got" "$want"; then
        ctfi_ok "ctflow-$a/$series: ctflow $got, conntrack -L $want"
      else
        ctfi_not_ok "ctflow-$a/$series: ctflow $got, conntrack -L $want"
      fi
    done <"$WORK/s2"
    check_at "ctflow-kernel/conntrack" "$e" "$(snap_value "$WORK/s2" table count)" "conntrack -C"
    check_at "ctflow-self/count-flows" "$e" "$(snap_value "$WORK/s2" table entries)" \
      "entries in conntrack -L"
    check_at "ctflow-kernel/conntrack-max" "$e" "$(snap_value "$WORK/s2" table max)" \
      "nf_conntrack_max"
    want=$(awk -v c="$(snap_value "$WORK/s2" table count)" -v m="$(snap_value "$WORK/s2" table max)" \
      'BEGIN { printf "%.6f", 100 * c / m }')
    got=$(csv_at "$WORK" ctflow-kernel/percent-used "$e" || echo none)
    ctfi_check "ctflow-kernel/percent-used: ctflow $got, 100 * conntrack -C / max $want" \
      awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; exit !(a != "none" && d < 1e-5 && d > -1e-5) }'
    return 0
  done
  ctfi_not_ok "the table never held still across a read (5 attempts); see $WORK/s1, s2"
}

# check_at SERIES EPOCH WANT WHAT: ok when SERIES's value at the read at
# EPOCH equals WANT (from WHAT).
check_at() {
  local got
  if ! got=$(csv_at "$WORK" "$1" "$2"); then
    ctfi_not_ok "$1: no value from the read at $2 ($4: $3)"
  elif num_eq "$got" "$3"; then
    ctfi_ok "$1: ctflow $got, $4 $3"
  else
    ctfi_not_ok "$1: ctflow $got, $4 $3"
  fi
}
gauge_check
touch "$RELEASE"
ctfi_wait_jobs "held connections"

# --- the end: quiet reads, ground truth, stop ----------------------------------
n=$(collectd_reads "$WORK")
collectd_wait_reads "$WORK" $((n + 2))
topo_counters "$PREFIX" >"$WORK/truth.after"
snapshot "$WORK/final"
# The kernel's statistics around one read: it lies between the two.
topo_exec "$PREFIX" router conntrack -S >"$WORK/stats.before"
n=$(collectd_reads "$WORK")
collectd_wait_reads "$WORK" $((n + 1))
topo_exec "$PREFIX" router conntrack -S >"$WORK/stats"
stats_read=$(csv_time_of "$WORK" ctflow-self/count-flows $((n + 1)))
collectd_stop "$WORK"
ctfi_check "collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
  test "$COLLECTD_STATUS" = 0

# Prints the Nth value (default 1) of SERIES at that last quiet read, whose
# every series collectd had written before it was stopped.
final() {
  csv_at "$WORK" "$1" "$stats_read" "${2:-1}" || echo "none"
}

# Prints counter NAME's growth over the run: "PACKETS BYTES".
truth() {
  topo_growth "$WORK/truth.before" "$WORK/truth.after" "$1"
}

# Every series the README lists, under its name.
for a in "${LAN_ADDRS[@]}"; do
  addr=${a##* }
  ctfi_check "ctflow-$addr has the 9 host series" csv_has_series "$WORK" "$addr" "$CTFI_HOST_SERIES"
done
ctfi_check "ctflow-other has the 9 host series" csv_has_series "$WORK" other "$CTFI_HOST_SERIES"
total_series="$CTFI_HOST_SERIES current_connections-offloaded"
for s in $TCP_STATES; do total_series+=" tcp_connections-$s"; done
ctfi_check "ctflow-total has the host series, current_connections-offloaded and tcp_connections-<STATE> for 9 states" \
  csv_has_series "$WORK" total "$total_series"
stats=$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); print kv[1] } }' \
  "$WORK/stats" | sort -u | tr '\n' ' ')
kernel_series="conntrack conntrack-max percent-used"
for s in $stats; do kernel_series+=" derive-$s"; done
ctfi_check "ctflow-kernel has conntrack, conntrack-max, percent-used and derive-<stat> for the kernel's stats ($stats)" \
  csv_has_series "$WORK" kernel "$kernel_series"
ctfi_check "ctflow-self has duration-read and count-flows" \
  csv_has_series "$WORK" self "duration-read count-flows"
wan_series=$(find "$WORK/csv/$CTFI_HOST" -maxdepth 1 \( -name 'ctflow-203.0.113.*' \
  -o -name 'ctflow-2001:db8:*' \) -printf '%f ')
ctfi_check "no series for a WAN address (${wan_series:-none})" test -z "$wan_series"

# Bytes and packets: each LAN address against its forward-path counters.
for a in "${LAN_ADDRS[@]}"; do
  read -r role fam _ <<<"$a"
  truth_host "$WORK" "$WORK/truth.before" "$WORK/truth.after" "$role" "$fam" "$stats_read"
done
# "other": echo between the LAN and the router, counted in its input
# (requests: the original direction, tx) and output (replies: rx) chains.
read -r in4_pkts in4_bytes <<<"$(truth router_v4_in)"
read -r in6_pkts in6_bytes <<<"$(truth router_v6_in)"
read -r out4_pkts out4_bytes <<<"$(truth router_v4_out)"
read -r out6_pkts out6_bytes <<<"$(truth router_v6_out)"
ctfi_close "other (rule 3: LAN <-> router echo) received bytes" \
  "$(final ctflow-other/if_octets 1)" $((out4_bytes + out6_bytes))
ctfi_close "other (rule 3: LAN <-> router echo) sent bytes" \
  "$(final ctflow-other/if_octets 2)" $((in4_bytes + in6_bytes))
ctfi_close "other (rule 3: LAN <-> router echo) received packets" \
  "$(final ctflow-other/if_packets 1)" $((out4_pkts + out6_pkts))
ctfi_close "other (rule 3: LAN <-> router echo) sent packets" \
  "$(final ctflow-other/if_packets 2)" $((in4_pkts + in6_pkts))
read -r inv_pkts inv_bytes <<<"$(truth invalid)"
echo "# packets conntrack called invalid (not in its counters): $inv_pkts ($inv_bytes bytes)"
# The port forward's 3 MB upload must have reached srv's own bucket.
srv_rx=$(final "ctflow-${TOPO_V4[srv]}/if_octets" 1)
ctfi_check "the port forward's server ${TOPO_V4[srv]} received the 3 MiB sent to $FWD:$TOPO_FWD_PORT (rule 2): $srv_rx bytes" \
  test "$srv_rx" -ge 3145728

# total == sum of every host bucket + other, in the same read.
sum_buckets() {
  local d col=$2 sum=0 v
  for d in "$WORK/csv/$CTFI_HOST"/ctflow-*; do
    case ${d##*/ctflow-} in total | kernel | self | flows) continue ;; esac
    v=$(final "ctflow-${d##*/ctflow-}/$1" "$col")
    if [[ ! $v =~ ^[0-9]+$ ]]; then
      echo "none (${d##*/} has no value)"
      return
    fi
    sum=$((sum + v))
  done
  echo "$sum"
}
for t in "if_octets 1 received bytes" "if_octets 2 sent bytes" \
  "if_packets 1 received packets" "if_packets 2 sent packets"; do
  read -r type col what <<<"$t"
  want=$(sum_buckets "$type" "$col")
  got=$(final "ctflow-total/$type" "$col")
  ctfi_check "ctflow-total $what $got == sum of hosts and other $want" test "$got" = "$want"
done

# Entries begun since the start: all still in the table (timeouts raised).
for a in "${LAN_ADDRS[@]}"; do
  addr=${a##* }
  want=$(snap_value "$WORK/final" "$addr" current_connections)
  got=$(final "ctflow-$addr/total_connections")
  ctfi_check "ctflow-$addr/total_connections: ctflow $got, entries conntrack -L lists at the end $want" \
    num_eq "$got" "$want"
done

# The kernel's statistics (counters, summed over CPUs): conntrack -S just
# before and just after the read; equal when the table was quiet.
stat_sum() {
  awk -v s="$1" '{ for (i = 2; i <= NF; i++) { split($i, kv, "=")
    if (kv[1] == s) sum += kv[2] } } END { print sum + 0 }' "$2"
}
for s in $stats; do
  lo=$(stat_sum "$s" "$WORK/stats.before")
  hi=$(stat_sum "$s" "$WORK/stats")
  got=$(csv_at "$WORK" "ctflow-kernel/derive-$s" "$stats_read" || echo none)
  range=$lo
  [[ $lo == "$hi" ]] || range="$lo..$hi"
  ctfi_check "ctflow-kernel/derive-$s: ctflow $got, conntrack -S (all CPUs) $range" \
    awk -v v="$got" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(v != "none" && v >= lo && v <= hi) }'
done
ctfi_check "the router's SYN+FIN packet shows in conntrack -S invalid ($(stat_sum invalid "$WORK/stats"))" \
  test "$(stat_sum invalid "$WORK/stats")" -ge 1
dur=$(final ctflow-self/duration-read)
ctfi_check "ctflow-self/duration-read is a plausible read time: $dur s (0 < it < the interval)" \
  awk -v d="$dur" 'BEGIN { exit !(d > 0 && d < 1) }'

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
