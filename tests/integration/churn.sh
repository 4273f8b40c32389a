#!/bin/bash
# churn.sh: entries deleted (conntrack -D) and counters zeroed
# (conntrack -L -z) under ctflow while traffic flows; nothing is counted
# twice (accounting rules 3, 5 and 7's "nothing counted again",
# docs/DESIGN.md).
#
# What the kernel does, and so what is asserted:
#   - conntrack -D of a TCP entry whose connection goes on: the entry ends
#     (a DESTROY event with its final counters) and the connection's next
#     packet, from either end, makes a new entry (nf_conntrack_tcp_loose=1,
#     the default: mid-stream pick-up), ESTABLISHED, with the original
#     tuple reversed when that packet came from the remote end. Routed IPv6
#     carries on; a masqueraded IPv4 connection breaks when a reply arrives
#     first (it is no longer de-NATed), so the test deletes the entries of
#     h3's two IPv6 streams only (data both ways every 50 ms until the test
#     releases them, so every deletion finds them running). ctflow counts the deleted entry's tail from its DESTROY
#     event and the new entry as a new connection of the same host (host
#     rule 2 gives a reversed entry to the same host, directions right): while
#     nothing is zeroed, every host agrees with the nft counters within
#     0.1% (phase 1) and its total_connections is the connections made
#     plus the entries the kernel made anew.
#   - conntrack -L -z zeroes every entry's counters: ctflow loses what an
#     entry carried between its last read and the zeroing (accounting rule
#     5), and more when the counter is back above its last value by the next
#     read (the drop cannot be seen then), and never counts anything twice:
#     at every read each host is at most what the nft counters had after it,
#     no DERIVE series goes down, and total is the sum of the buckets. A
#     connection zeroed only while idle, after a read that saw all it
#     carried, and growing less than before until the next read, loses
#     nothing: h3's one IPv4 connection of phase 2 agrees within 0.1%.
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

PREFIX=ctfj-churn$$-
WORK=$(mktemp -d /tmp/ctfj-churn.XXXXXX)
stop_sampler() {
  touch "$WORK/sampler.stop"
  if [[ -n ${SAMPLER:-} ]]; then wait "$SAMPLER" || true; fi
}
ctfi_traps_topology stop_sampler

W4=${TOPO_V4[wan]}
W6=${TOPO_V6[wan]}
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
# The remote ends of h3's two IPv6 streams, whose entries are deleted.
STREAM_PEERS="$W6 $X6"

# Connections made per LAN address (one iperf3 transfer is two), and
# entries the kernel made anew after a deletion.
declare -A MADE=()
made() {
  MADE[$1]=$((${MADE[$1]:-0} + $2))
}

rr_rounds() {
  local rounds=$1 role=$2 addr=$3 port=$4 count=$5 r
  for ((r = 0; r < rounds; r++)); do
    ((r == 0)) || sleep 0.7
    topo_rr "$PREFIX" "$role" "$addr" "$port" "$count" 2 "$r" || return 1
  done
}

# One TCP connection to the request/response server at ADDR:PORT that
# exchanges 16 kB up and 32 kB down every 50 ms until the file RELEASE
# exists (at most 50 s; exits 1 then).
STREAM_CLIENT='
import os, socket, struct, sys, time
host, port, release = sys.argv[1], int(sys.argv[2]), sys.argv[3]
end = time.monotonic() + 50
with socket.create_connection((host, port), timeout=10) as c:
    while not os.path.exists(release) and time.monotonic() < end:
        c.sendall(struct.pack("!II", 16384, 32768) + b"s" * 16384)
        got = 0
        while got < 32768:
            chunk = c.recv(65536)
            if not chunk:
                sys.exit(1)
            got += len(chunk)
        time.sleep(0.05)
sys.exit(0 if os.path.exists(release) else 1)
'
# stream ADDR RELEASE: h3's stream to ADDR.
stream() {
  timeout 60 ip netns exec "${PREFIX}h3" "$TOPO_PYTHON" -c "$STREAM_CLIENT" \
    "$1" "$TOPO_RR_PORT" "$2"
}

# workload PHASE RELEASE: the traffic of phase PHASE (1 or 2), about 6 s:
# h3's two IPv6 streams (those deleted; they run until the file RELEASE
# exists), long paced transfers on every other LAN address, short
# connections, UDP; h3's IPv4 address has short connections in phase 1
# only.
workload() {
  local base=$((20000 + $1 * 1000)) peer
  PHASE_START=$(date +%s.%N)
  for peer in $STREAM_PEERS; do
    ctfi_job "h3 tcp6 stream to $peer (deleted)" stream "$peer" "$2"
    made "$H3_6" 1
  done
  ctfi_check "phase $1: h3's two IPv6 streams are under way" under_way
  ctfi_job "h1 tcp4 up 5M" topo_tcp "$PREFIX" h1 "$W4" 5203 up 5M 8M
  made "$H1" 2
  ctfi_job "h2 tcp4 down 5M" topo_tcp "$PREFIX" h2 "$W4" 5204 down 5M 8M
  made "$H2" 2
  ctfi_job "h1 tcp6 down 4M" topo_tcp "$PREFIX" h1 "$W6" 5205 down 4M 6M
  made "$H1_6" 2
  ctfi_job "h2 tcp6 up 3M wan2" topo_tcp "$PREFIX" h2 "$X6" 5206 up 3M 6M
  made "$H2_6" 2
  ctfi_job "wan tcp4 via port forward up 4M" topo_tcp "$PREFIX" wan "$FWD" "$TOPO_FWD_PORT" up 4M 8M
  made "$S4" 2
  ctfi_job "wan tcp6 from srv down 3M" topo_tcp "$PREFIX" wan "$S6" 5201 down 3M 6M
  made "$S6" 2
  ctfi_job "h1 rr4 4x20" rr_rounds 4 h1 "$W4" "$TOPO_RR_PORT" 20
  made "$H1" 80
  ctfi_job "h2 rr6 4x20" rr_rounds 4 h2 "$W6" "$TOPO_RR_PORT" 20
  made "$H2_6" 80
  if (($1 == 1)); then
    ctfi_job "h3 rr4 4x20" rr_rounds 4 h3 "$W4" "$TOPO_RR_PORT" 20
    made "$H3" 80
  fi
  ctfi_job "wan rr4 via port forward 4x15" rr_rounds 4 wan "$FWD" "$TOPO_FWD_RR_PORT" 15
  made "$S4" 60
  ctfi_job "wan rr6 to srv 3x15" rr_rounds 3 wan "$S6" "$TOPO_RR_PORT" 15
  made "$S6" 45
  ctfi_job "h1 udp6 30 pairs" topo_udp_pairs "$PREFIX" h1 "$W6" 30 600 2 "$base"
  made "$H1_6" 30
  ctfi_job "srv udp4 30 pairs" topo_udp_pairs "$PREFIX" srv "$W4" 30 400 2 $((base + 500))
  made "$S4" 30
  ctfi_job "h3 ping6" topo_ping "$PREFIX" h3 "$W6" 5 500
  made "$H3_6" 1
  ctfi_job "h2 ping4" topo_ping "$PREFIX" h2 "$W4" 5 500
  made "$H2" 1
}

# Prints "SRC DST SPORT DPORT" (the original tuple) of the entry of the
# TCP connection between ADDR and server port PORT at REMOTE that carried
# most bytes, at least 100 kB (a stream under way), from conntrack -L
# (stdin). argv: ADDR, REMOTE, PORT.
DATA_ENTRY='
import sys
addr, remote, port = sys.argv[1], sys.argv[2], sys.argv[3]
best = None
for line in sys.stdin:
    f = line.split()
    if not f or f[0] != "tcp":
        continue
    kv = [t.split("=", 1) for t in f if "=" in t]
    v = {}
    for k, x in kv:
        v.setdefault(k, x)
    carried = sum(int(x) for k, x in kv if k == "bytes")
    if {addr, remote} != {v["src"], v["dst"]} or port not in (v["sport"], v["dport"]):
        continue
    if carried < 100000:
        continue
    if best is None or carried > best[0]:
        best = (carried, v["src"], v["dst"], v["sport"], v["dport"])
if best:
    print(*best[1:])
'

# Prints the original tuple of the entry of h3's IPv6 stream to PEER
# (nothing when there is none).
data_entry() {
  topo_exec "$PREFIX" router conntrack -L -p tcp 2>/dev/null |
    "$TOPO_PYTHON" -c "$DATA_ENTRY" "$H3_6" "$1" "$TOPO_RR_PORT"
}

# Returns 0 once both of h3's IPv6 streams have an entry that carried
# 100 kB (at most 10 s).
under_way() {
  local i peer
  for ((i = 0; i < 50; i++)); do
    for peer in $STREAM_PEERS; do
      if [[ -z $(data_entry "$peer") ]]; then
        sleep 0.1
        continue 2
      fi
    done
    return 0
  done
  return 1
}

# Prints the seconds since the phase's traffic began.
since_start() {
  awk -v t0="$PHASE_START" -v t="$(date +%s.%N)" 'BEGIN { printf "%.1f", t - t0 }'
}

# Deletes the entry of h3's IPv6 stream to PEER and waits (at most 3 s)
# for the kernel to make the connection's next entry. Counts deletions in
# DELETED and new entries in RENEWED.
DELETED=0
RENEWED=0
delete_entry() {
  local peer=$1 port=$TOPO_RR_PORT tuple src dst sport dport client out i
  tuple=$(data_entry "$peer")
  if [[ -z $tuple ]]; then
    ctfi_not_ok "no entry of h3's stream to $peer to delete"
    return
  fi
  read -r src dst sport dport <<<"$tuple"
  out=$(topo_exec "$PREFIX" router conntrack -D -p tcp -s "$src" -d "$dst" \
    --sport "$sport" --dport "$dport" 2>&1 >/dev/null || true)
  if [[ $out != *"1 flow entries have been deleted"* ]]; then
    ctfi_not_ok "conntrack -D $src.$sport -> $dst.$dport: $out"
    return
  fi
  DELETED=$((DELETED + 1))
  client=$sport
  [[ $sport != "$port" ]] || client=$dport
  for ((i = 0; i < 30; i++)); do
    if topo_exec "$PREFIX" router conntrack -L -p tcp 2>/dev/null |
      grep -q -e "sport=$client .*sport=$port " -e "sport=$port .*sport=$client "; then
      RENEWED=$((RENEWED + 1))
      echo "# $(since_start) s: deleted h3's entry $src.$sport -> $dst.$dport; the kernel made a new one"
      return
    fi
    sleep 0.1
  done
  echo "# $(since_start) s: deleted h3's entry $src.$sport -> $dst.$dport; no new entry within 3 s"
}

# Zeroes every entry's counters once; counts the entries that had bytes.
ZEROED=0
zero_counters() {
  local had
  had=$(topo_exec "$PREFIX" router conntrack -L -z 2>/dev/null |
    grep -c -E 'bytes=[1-9]' || true)
  ZEROED=$((ZEROED + had))
  echo "# $(since_start) s: conntrack -L -z zeroed $had entries that carried bytes"
}

# Waits until read n+1 is written (n: reads written now), so that what
# follows happens between two reads.
after_next_read() {
  local n
  n=$(collectd_reads "$WORK")
  collectd_wait_reads "$WORK" $((n + 1))
}

# Waits until a read that began after now is written (read n+2).
after_a_whole_read() {
  local n
  n=$(collectd_reads "$WORK")
  collectd_wait_reads "$WORK" $((n + 2))
}

# One TCP connection to the request/response server that makes the
# exchanges "REQUEST:RESPONSE" (bytes) given, exchange i when the file
# DIR/go<i> exists, writing DIR/done<i> after it; closes when DIR/close
# exists. Exits 1 when a file is 30 s late or an exchange fails.
# argv: address, port, DIR, exchanges.
STEPS_CLIENT='
import os, socket, struct, sys, time
host, port, flags = sys.argv[1], int(sys.argv[2]), sys.argv[3]
steps = [tuple(int(x) for x in a.split(":")) for a in sys.argv[4:]]
def wait_for(name):
    end = time.monotonic() + 30
    while not os.path.exists(os.path.join(flags, name)):
        if time.monotonic() > end:
            sys.exit(1)
        time.sleep(0.02)
with socket.create_connection((host, port), timeout=10) as c:
    for i, (request, reply) in enumerate(steps):
        wait_for("go%d" % i)
        c.sendall(struct.pack("!II", request, reply) + b"q" * request)
        got = 0
        while got < reply:
            chunk = c.recv(65536)
            if not chunk:
                sys.exit(1)
            got += len(chunk)
        open(os.path.join(flags, "done%d" % i), "w").close()
    wait_for("close")
'
steps_client() {
  timeout 60 ip netns exec "${PREFIX}h3" "$TOPO_PYTHON" -c "$STEPS_CLIENT" "$@"
}

# Returns 0 once FILE exists (at most 10 s).
appears() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -e $1 ]] && return 0
    sleep 0.1
  done
  return 1
}

# Waits until the table is empty and two reads began after it; writes the
# truth counters to FILE and the epoch of the last of those reads to
# FILE.read.
settle() {
  local n
  ctfi_check "$2: the router's table empties within 20 s" topo_table_empties "$PREFIX"
  topo_counters "$PREFIX" >"$1"
  n=$(collectd_reads "$WORK")
  collectd_wait_reads "$WORK" $((n + 3))
  csv_time_of "$WORK" ctflow-self/count-flows $((n + 3)) >"$1.read"
}

# Prints the Nth value (default 1) of SERIES at the read of epoch file F.
at() {
  csv_at "$WORK" "$2" "$(cat "$1")" "${3:-1}" || echo none
}

# --- setup -------------------------------------------------------------------
start=$SECONDS
topo_up "$PREFIX"
topo_short_timeouts "$PREFIX" 1
topo_exec "$PREFIX" router conntrack -F 2>/dev/null
ctfi_check "the router's table is empty before collectd starts" topo_table_empties "$PREFIX"
collectd_conf "$WORK" "" "  LocalNetwork \"$TOPO_LAN4_NET\"
  LocalNetwork \"$TOPO_LAN6_NET\""
ctfi_start_collectd "$WORK" "${PREFIX}router"
topo_counters "$PREFIX" >"$WORK/truth.0"
# The truth counters every 0.1 s from now to the end, for "at every read".
topo_sample_counters "$PREFIX" "$WORK/samples" "$WORK/sampler.stop" 150 &
SAMPLER=$!

# --- phase 1: deletions --------------------------------------------------------
workload 1 "$WORK/release.1"
for k in 1 2; do
  after_next_read
  for peer in $STREAM_PEERS; do delete_entry "$peer"; done
done
after_next_read
touch "$WORK/release.1"
ctfi_wait_jobs "phase 1 (deletions)" "jobs completed every exchange"
settle "$WORK/truth.1" "phase 1"
ctfi_check "phase 1: conntrack -D deleted 4 entries of running streams ($DELETED)" \
  test "$DELETED" = 4
ctfi_check "phase 1: the kernel made a new entry for each deleted one's next packets ($RENEWED)" \
  test "$RENEWED" = "$DELETED"
renewed_1=$RENEWED

# Nothing zeroed yet: every byte, the deleted entries' tails from their
# DESTROY events included.
for a in "${LAN_ADDRS[@]}"; do
  read -r role fam addr <<<"$a"
  truth_check "$WORK" "$addr" "$(cat "$WORK/truth.1.read")" "phase 1: $addr ($role)" \
    "$(truth_growth "$WORK/truth.0" "$WORK/truth.1" "$role" "$fam")"
  want=${MADE[$addr]}
  [[ $addr != "$H3_6" ]] || want=$((want + renewed_1))
  got=$(at "$WORK/truth.1.read" "ctflow-$addr/total_connections")
  ctfi_check "phase 1: $addr ($role) total_connections: ctflow $got, connections made plus entries made anew $want" \
    test "$got" = "$want"
done
read -r inv_pkts inv_bytes <<<"$(topo_growth "$WORK/truth.0" "$WORK/truth.1" invalid)"
echo "# phase 1: packets conntrack called invalid (not in its counters): $inv_pkts ($inv_bytes bytes)"

# --- phase 2: zeroing (and more deletions) ---------------------------------------
# h3's one IPv4 connection: 2 MB down (and 500 kB up), zeroed while idle,
# then 100 kB (20 kB), zeroed while idle three more times, closed.
STEPS=$WORK/steps
mkdir "$STEPS"
touch "$STEPS/go0"
ctfi_job "h3 one connection, zeroed while idle" steps_client "$W4" "$TOPO_RR_PORT" "$STEPS" \
  500000:2000000 20000:100000
made "$H3" 1
workload 2 "$WORK/release.2"
ctfi_check "phase 2: h3's connection made its first exchange" appears "$STEPS/done0"
for k in 1 2 3 4; do
  case $k in
  1 | 2) after_a_whole_read ;; # it saw all h3's connection carried
  *) after_next_read ;;
  esac
  ((k != 2)) || for peer in $STREAM_PEERS; do delete_entry "$peer"; done
  zero_counters
  if ((k == 1)); then
    touch "$STEPS/go1"
    ctfi_check "phase 2: h3's connection made its second exchange after the first zeroing" \
      appears "$STEPS/done1"
  fi
done
touch "$STEPS/close" "$WORK/release.2"
ctfi_wait_jobs "phase 2 (zeroing)" "jobs completed every exchange"
settle "$WORK/truth.2" "phase 2"
# Zeroed only while idle, after reads that had seen all it carried: the
# drops were seen, so nothing was lost (accounting rule 5).
# (field: of truth's "PACKETS BYTES")
for t in "2 if_octets 1 received bytes" "2 if_octets 2 sent bytes" \
  "1 if_packets 1 received packets" "1 if_packets 2 sent packets"; do
  read -r field type col what <<<"$t"
  dir=rx
  [[ $col == 1 ]] || dir=tx
  want=$(topo_growth "$WORK/truth.1" "$WORK/truth.2" "h3_v4_$dir" | cut -d' ' -f"$field")
  got=$(($(at "$WORK/truth.2.read" "ctflow-$H3/$type" "$col") - $(at "$WORK/truth.1.read" "ctflow-$H3/$type" "$col")))
  ctfi_close "phase 2: $H3 (h3, one connection zeroed 4 times while idle) $what" "$got" "$want"
done
ctfi_check "phase 2: conntrack -L -z zeroed counters that held bytes ($ZEROED entries over 4 runs)" \
  test "$ZEROED" -gt 0
ctfi_check "phase 2: conntrack -D deleted 2 more entries, each made anew (deleted $DELETED, new $RENEWED)" \
  test "$DELETED" = 6 -a "$RENEWED" = 6
n=$(collectd_reads "$WORK")
collectd_stop "$WORK"
ctfi_check "collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
  test "$COLLECTD_STATUS" = 0
touch "$WORK/sampler.stop"
wait "$SAMPLER"
SAMPLER=
topo_counters "$PREFIX" >"$WORK/truth.end"
echo "# $n reads, $(awk '{ print $1 }' "$WORK/samples" | uniq | wc -l) samples of the nft counters"

# --- nothing counted twice -------------------------------------------------------
# Every DERIVE series, every line.
ctfi_derive_never_down "$WORK"

# At every read, each LAN address at most what the nft counters had just
# after that read (the first sample taken after it).
for a in "${LAN_ADDRS[@]}"; do
  read -r role fam addr <<<"$a"
  truth_never_above "$WORK" "$WORK/truth.0" "$WORK/samples" "$addr" "$role" "$fam" if_octets
  truth_never_above "$WORK" "$WORK/truth.0" "$WORK/samples" "$addr" "$role" "$fam" if_packets
done

ctfi_total_is_sum "$WORK"

# Connections still counted right, zeroing or not.
for a in "${LAN_ADDRS[@]}"; do
  read -r role fam addr <<<"$a"
  want=${MADE[$addr]}
  [[ $addr != "$H3_6" ]] || want=$((want + RENEWED))
  got=$(at "$WORK/truth.2.read" "ctflow-$addr/total_connections")
  ctfi_check "$addr ($role) total_connections after both phases: ctflow $got, made plus made anew $want" \
    test "$got" = "$want"
done
lost=$(at "$WORK/truth.2.read" ctflow-self/errors-events_lost)
echo "# ctflow-self/errors-events_lost: $lost"

# What zeroing cost (phase 2; phase 1 lost nothing): how far below the nft
# counters each address ended. Accounting rule 5 loses an entry's bytes
# between its last read and the zeroing; when a counter is back above its
# last value by the next read the drop is not seen, and what the entry had
# carried until the zeroing is lost.
echo "# phase 2 (zeroing): how far below the nft counters each address ended"
for a in "${LAN_ADDRS[@]}"; do
  read -r role fam addr <<<"$a"
  read -r _ tx_bytes <<<"$(topo_growth "$WORK/truth.1" "$WORK/truth.2" "${role}_v${fam}_tx")"
  read -r _ rx_bytes <<<"$(topo_growth "$WORK/truth.1" "$WORK/truth.2" "${role}_v${fam}_rx")"
  rx=$(($(at "$WORK/truth.2.read" "ctflow-$addr/if_octets" 1) - $(at "$WORK/truth.1.read" "ctflow-$addr/if_octets" 1)))
  tx=$(($(at "$WORK/truth.2.read" "ctflow-$addr/if_octets" 2) - $(at "$WORK/truth.1.read" "ctflow-$addr/if_octets" 2)))
  awk -v a="$addr ($role)" -v rx="$rx" -v tx="$tx" -v trx="$rx_bytes" -v ttx="$tx_bytes" 'BEGIN {
    printf "#   %-24s received %8d below %9d (%5.2f%%), sent %8d below %9d (%5.2f%%)\n",
      a, trx - rx, trx, trx ? 100 * (trx - rx) / trx : 0, ttx - tx, ttx, ttx ? 100 * (ttx - tx) / ttx : 0 }'
done

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
