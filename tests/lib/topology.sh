# shellcheck shell=bash disable=SC2034 # the TOPO_ variables are API
# topology.sh: a small site behind a NAT router, built from network
# namespaces, for ctflow's integration tests, demo and benchmark.
#
#   LAN 192.168.77.0/24                               WAN 203.0.113.0/24
#       fdc7:f10e:77::/64                                 2001:db8:77::/64
#
#   h1   .11  ::11 --+                                +-- wan  .10  ::10
#   h2   .12  ::12 --+-- br0 [ router ] wan0 ---------+   (wan2 .11 ::11, a
#   h3   .13  ::13 --+   .1 ::1        .1 ::1             second address)
#   srv  .20  ::20 --+                                    iperf3, UDP echo,
#                                                         TCP echo
#   srv runs iperf3, UDP echo, TCP echo too; it is the port forward's target.
#   wan and srv also run a request/response server for short connections.
#
# The router masquerades IPv4 from the LAN to the WAN and forwards its WAN
# address's TCP port 8080 to srv port 80 (DNAT), and its port 8081 to srv's
# request/response server. IPv6 is routed without NAT; an inet table's ct
# rule makes the kernel track IPv6 too (it tracks a family only once some
# rule of that family needs conntrack). All addresses are private or
# documentation ranges, inside ctflow's default LocalNetwork on the LAN
# side and outside it on the WAN side.
#
# Ground truth: the router's forward chain has one named counter per LAN
# address and direction, <role>_v<4|6>_<tx|rx> (tx: the address is the
# source = what it sent; rx: it is the destination = what it received),
# plus forward_all (every forwarded packet) and invalid (packets conntrack
# called invalid: it does not count those in its own counters). Traffic
# between the LAN and the router itself is not forwarded; for ICMP echo to
# the router's LAN addresses (both ends local: host rule 3, "other") the
# input and output chains count router_v<4|6>_in (echo requests from the
# LAN) and router_v<4|6>_out (its echo replies to the LAN).
#
# API (source this file; everything needs root):
#   topo_up PREFIX                 build it: namespaces PREFIX<role> for the
#                                  roles in TOPO_ROLES; fails if any exists.
#                                  Returns with the servers listening, every
#                                  neighbour resolved, the router's conntrack
#                                  table empty and the truth counters at 0
#   topo_down PREFIX               kill the processes in those namespaces and
#                                  delete them; safe to call twice or after a
#                                  failed topo_up (use it in an EXIT trap)
#   topo_ns PREFIX ROLE            print the namespace name of ROLE
#   topo_exec PREFIX ROLE CMD...   run CMD in ROLE's namespace
#   topo_set_acct PREFIX 0|1       set the router's net.netfilter.nf_conntrack_acct
#                                  (applies to entries created afterwards)
#   topo_counters PREFIX           print "NAME PACKETS BYTES" per truth counter
#   topo_counter PREFIX NAME       print "PACKETS BYTES" of one counter
#   topo_growth BEFORE AFTER NAME  print "PACKETS BYTES": how much counter
#                                  NAME grew from file BEFORE to file AFTER
#                                  (two saved topo_counters outputs)
#   topo_sample_counters PREFIX FILE STOP_FILE SECONDS
#                                  every 0.1 s until STOP_FILE exists or
#                                  SECONDS passed, append the truth counters
#                                  to FILE as "EPOCH NAME PACKETS BYTES"
#                                  (EPOCH taken just before they are read:
#                                  they hold at least what passed by then);
#                                  run it in the background
#
# Traffic (each bounded in size and, through timeout(1), in time; each
# returns non-zero when the exchange did not complete):
#   topo_tcp PREFIX ROLE ADDR PORT up|down BYTES [RATE]
#       one iperf3 transfer of BYTES from ROLE to the iperf3 server at
#       ADDR:PORT (up) or from it to ROLE (down), paced at RATE bits/s
#       (e.g. 8M; default unpaced). One server port serves one client at
#       a time: give concurrent transfers different ports.
#   topo_udp PREFIX ROLE ADDR COUNT SIZE GAP [SOURCE_PORT]
#       one UDP flow (one source port: SOURCE_PORT when given, else one
#       the kernel picks): COUNT datagrams of SIZE payload bytes to the
#       echo server at ADDR port TOPO_UDP_PORT, each answered, GAP seconds
#       apart
#   topo_ping PREFIX ROLE ADDR COUNT [SIZE]
#       COUNT echo requests 0.2 s apart (ICMP or ICMPv6 by ADDR)
#   topo_hold PREFIX ROLE ADDR N SECONDS [RELEASE_FILE]
#       N TCP connections to the echo server at ADDR port TOPO_HOLD_PORT,
#       opened together, idle, closed cleanly after SECONDS, or as soon as
#       RELEASE_FILE exists
#   topo_rr PREFIX ROLE ADDR PORT COUNT [PARALLEL] [SEED]
#       COUNT short TCP connections (PARALLEL at a time, default 1) to the
#       request/response server at ADDR:PORT (TOPO_RR_PORT, or
#       TOPO_FWD_RR_PORT on the router's WAN address): each sends a request
#       of 100-4099 bytes, receives a response of 200-30199 bytes (sizes
#       vary with the connection's number and SEED) and is closed at once;
#       prints the number completed. The server answers any number of
#       requests on one connection, until the client closes it.
#   topo_udp_pairs PREFIX ROLE ADDR COUNT SIZE [PARALLEL] [FIRST_PORT]
#       COUNT UDP request/response pairs of SIZE payload bytes to the echo
#       server at ADDR port TOPO_UDP_PORT, PARALLEL at a time (default 1),
#       pair i from source port FIRST_PORT + i (default 20000): each a
#       conntrack entry of its own (ports the kernel picked could repeat
#       while an earlier pair's entry lives); prints the number answered.
#       Give concurrent IPv4 flows from different LAN hosts to one server
#       different ports: masquerade maps them to one address, and two new
#       entries that take the same port at once clash (the kernel drops
#       the second's packet after the forward chain counted it)
#
# The router's table:
#   topo_table_empties PREFIX
#       returns 0 once the router's conntrack table is empty (at most
#       20 s): its entries left by timing out, swept by the kernel or by
#       a reader's dumps
#
# Timeouts:
#   topo_short_timeouts PREFIX SECONDS
#       set the router's conntrack timeouts of ending TCP states (FIN_WAIT,
#       CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE), of UDP, of ICMP/ICMPv6 and
#       of other protocols (e.g. the IGMP reports of the router's bridge)
#       to SECONDS, so that finished flows leave the table soon; applies to
#       entries as their next packet refreshes them
#
# Addresses: TOPO_V4[role], TOPO_V6[role] (roles h1 h2 h3 srv wan; router
# for its LAN side, router_wan for its WAN side; wan2 is a second address
# of the wan namespace, a second remote peer). Servers: iperf3 on
# TOPO_IPERF_PORTS in wan and srv, and on TOPO_FWD_TO_PORT in srv; UDP echo
# on TOPO_UDP_PORT, TCP echo on TOPO_HOLD_PORT and request/response on
# TOPO_RR_PORT in wan and srv (the router forwards TOPO_FWD_RR_PORT there;
# its protocol: see _TOPO_RR_SERVER).
# Knobs: TOPO_TIMEOUT (seconds any one traffic command may take, default
# 30), TOPO_ACCT (nf_conntrack_acct set by topo_up, default 1),
# TOPO_PYTHON (default /usr/bin/python3).

TOPO_ROLES="router h1 h2 h3 srv wan"
TOPO_LAN_ROLES="h1 h2 h3 srv"
TOPO_LAN4_NET=192.168.77.0/24
TOPO_LAN6_NET=fdc7:f10e:77::/64
TOPO_WAN4_NET=203.0.113.0/24
TOPO_WAN6_NET=2001:db8:77::/64
TOPO_FWD_PORT=8080
TOPO_FWD_TO_PORT=80
TOPO_IPERF_PORTS="5201 5202 5203 5204 5205 5206 5207 5208 5209 5210 5211 5212"
TOPO_UDP_PORT=5353
TOPO_HOLD_PORT=7000
TOPO_RR_PORT=7100
TOPO_FWD_RR_PORT=8081
TOPO_TIMEOUT=${TOPO_TIMEOUT:-30}
TOPO_ACCT=${TOPO_ACCT:-1}
TOPO_PYTHON=${TOPO_PYTHON:-/usr/bin/python3}

declare -gA TOPO_V4=(
  [router]=192.168.77.1 [h1]=192.168.77.11 [h2]=192.168.77.12
  [h3]=192.168.77.13 [srv]=192.168.77.20
  [router_wan]=203.0.113.1 [wan]=203.0.113.10 [wan2]=203.0.113.11
)
declare -gA TOPO_V6=(
  [router]=fdc7:f10e:77::1 [h1]=fdc7:f10e:77::11 [h2]=fdc7:f10e:77::12
  [h3]=fdc7:f10e:77::13 [srv]=fdc7:f10e:77::20
  [router_wan]=2001:db8:77::1 [wan]=2001:db8:77::10 [wan2]=2001:db8:77::11
)

# A UDP echo server: answers every datagram with itself, from the address
# it was sent to (one socket per address: with several addresses in one
# subnet, an unbound reply could leave from another one, and the client
# would answer it with ICMP port unreachable).
# argv: port, then the addresses to serve.
_TOPO_UDP_ECHO='
import select, socket, sys
port = int(sys.argv[1])
socks = []
for addr in sys.argv[2:]:
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    socks.append(s)
while True:
    for s in select.select(socks, [], [])[0]:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)
'

# One UDP flow: sends COUNT datagrams, waits for each answer; exits 1 when
# an answer is missing. argv: address, port, count, size, gap, and the
# source port (empty: one the kernel picks).
_TOPO_UDP_CLIENT='
import socket, sys, time
host, port, count, size, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
v6 = ":" in host
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
if sys.argv[6]:
    s.bind(("::" if v6 else "0.0.0.0", int(sys.argv[6])))
s.settimeout(1.0)
s.connect((host, port))
answered = 0
for i in range(count):
    if i:
        time.sleep(gap)
    s.send(b"u" * size)
    try:
        s.recv(65535)
        answered += 1
    except OSError:
        pass
sys.exit(0 if answered == count else 1)
'

# N idle TCP connections, all open for SECONDS (or until the release file
# appears), then closed with FIN.
_TOPO_HOLD_CLIENT='
import os, socket, sys, time
host, port, n, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
release = sys.argv[5] if len(sys.argv) > 5 else ""
conns = [socket.create_connection((host, port), timeout=3) for _ in range(n)]
end = time.monotonic() + seconds
while time.monotonic() < end and not (release and os.path.exists(release)):
    time.sleep(0.05)
for c in conns:
    c.shutdown(socket.SHUT_WR)
for c in conns:
    c.settimeout(3)
    while c.recv(4096):
        pass
    c.close()
'

# A request/response server, one thread per connection: reads a header
# (request and response sizes, 4 bytes each, big endian) and the request,
# sends the response, and again, until the client closes; then closes at
# once (a late close would leave the router's entry waiting in CLOSE_WAIT).
# argv: port. Listens on every address, IPv4 and IPv6.
_TOPO_RR_SERVER='
import socket, struct, threading, sys
def read(c, n):
    data = b""
    while len(data) < n:
        chunk = c.recv(min(n - len(data), 65536))
        if not chunk:
            return None
        data += chunk
    return data
def serve(c):
    try:
        c.settimeout(60)
        while True:
            head = read(c, 8)
            if head is None:
                return
            need, reply = struct.unpack("!II", head)
            while need > 0:
                chunk = c.recv(min(need, 65536))
                if not chunk:
                    return
                need -= len(chunk)
            c.sendall(b"r" * reply)
    except OSError:
        pass
    finally:
        c.close()
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(512)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'

# The start of the clients that make many exchanges at once: run(one,
# count, parallel) calls one(i) for each i below COUNT, PARALLEL threads
# at a time (thread w takes w, w + PARALLEL, ...), prints how many calls
# returned true and exits 1 unless all did; an OSError fails that call.
_TOPO_PARALLEL='
import sys, threading
def run(one, count, parallel):
    done = []
    def worker(w):
        for i in range(w, count, parallel):
            try:
                if one(i):
                    done.append(i)
            except OSError:
                pass
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(len(done))
    sys.exit(0 if len(done) == count else 1)
'

# COUNT short connections to a request/response server, PARALLEL at a time;
# prints how many completed, exits 1 unless all did. Follows _TOPO_PARALLEL.
# argv: address, port, count, parallel, seed.
_TOPO_RR_CLIENT='
import socket, struct, sys
host, port, count, parallel, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def one(i):
    k = i + 7919 * seed
    request, reply = 100 + (k * 211) % 4000, 200 + (k * 7919) % 30000
    with socket.create_connection((host, port), timeout=5) as c:
        c.sendall(struct.pack("!II", request, reply) + b"q" * request)
        got = 0
        while got < reply:
            chunk = c.recv(65536)
            if not chunk:
                break
            got += len(chunk)
    return got == reply
run(one, count, parallel)
'

# COUNT UDP request/response pairs, pair i from source port first + i,
# PARALLEL at a time; prints how many were answered, exits 1 unless all
# were. Follows _TOPO_PARALLEL. argv: address, port, count, size, parallel,
# first.
_TOPO_UDP_PAIRS_CLIENT='
import socket, sys
host, port, count, size, parallel, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
def one(i):
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", first + i))
        s.connect((host, port))
        s.send(b"p" * size)
        s.recv(65535)
        return True
run(one, count, parallel)
'

topo_ns() {
  printf '%s%s\n' "$1" "$2"
}

topo_exec() {
  local prefix=$1 role=$2
  shift 2
  ip netns exec "$prefix$role" "$@"
}

# Returns 0 when PREFIX is usable as the start of namespace names.
_topo_check_prefix() {
  if [[ ! $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$ ]]; then
    echo "topology: bad namespace prefix '$1'" >&2
    return 1
  fi
}

# Links ROLE's eth0 to a port lan-ROLE of the router's bridge and gives it
# its addresses and default routes.
_topo_lan_host() {
  local prefix=$1 role=$2
  local ns=$prefix$role
  ip -n "${prefix}router" link add "lan-$role" type veth peer name eth0 netns "$ns"
  ip -n "${prefix}router" link set "lan-$role" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$ns" addr add "${TOPO_V4[$role]}/24" dev eth0
  ip -n "$ns" -6 addr add "${TOPO_V6[$role]}/64" dev eth0 nodad
  ip -n "$ns" route add default via "${TOPO_V4[router]}"
  ip -n "$ns" -6 route add default via "${TOPO_V6[router]}"
}

# Starts ROLE's servers in the background; topo_down ends them. ADDR... are
# ROLE's addresses.
_topo_servers() {
  local prefix=$1 role=$2 port
  local ns=$prefix$role
  shift 2
  for port in $TOPO_IPERF_PORTS; do
    ip netns exec "$ns" iperf3 -s -D -p "$port" >/dev/null
  done
  ip netns exec "$ns" "$TOPO_PYTHON" -c "$_TOPO_UDP_ECHO" "$TOPO_UDP_PORT" "$@" \
    </dev/null >/dev/null 2>&1 &
  ip netns exec "$ns" socat "TCP6-LISTEN:$TOPO_HOLD_PORT,ipv6only=0,reuseaddr,fork" \
    PIPE </dev/null >/dev/null 2>&1 &
  ip netns exec "$ns" "$TOPO_PYTHON" -c "$_TOPO_RR_SERVER" "$TOPO_RR_PORT" \
    </dev/null >/dev/null 2>&1 &
}

# Prints the router's nftables ruleset: NAT and the truth counters.
_topo_ruleset() {
  local role fam addr dir sel
  cat <<EOF
table ip ctfi_nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan0" ip daddr ${TOPO_V4[router_wan]} tcp dport $TOPO_FWD_PORT dnat to ${TOPO_V4[srv]}:$TOPO_FWD_TO_PORT
    iifname "wan0" ip daddr ${TOPO_V4[router_wan]} tcp dport $TOPO_FWD_RR_PORT dnat to ${TOPO_V4[srv]}:$TOPO_RR_PORT
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" masquerade
  }
}
table inet ctfi_truth {
  counter forward_all {
  }
  counter invalid {
  }
  counter router_v4_in {
  }
  counter router_v4_out {
  }
  counter router_v6_in {
  }
  counter router_v6_out {
  }
EOF
  for role in $TOPO_LAN_ROLES; do
    for fam in 4 6; do
      for dir in tx rx; do
        printf '  counter %s_v%s_%s {\n  }\n' "$role" "$fam" "$dir"
      done
    done
  done
  cat <<EOF
  chain forward {
    type filter hook forward priority filter; policy accept;
    counter name "forward_all"
    ct state invalid counter name "invalid"
EOF
  for role in $TOPO_LAN_ROLES; do
    for fam in 4 6; do
      if [[ $fam == 4 ]]; then
        sel=ip addr=${TOPO_V4[$role]}
      else
        sel=ip6 addr=${TOPO_V6[$role]}
      fi
      printf '    %s saddr %s counter name "%s_v%s_tx"\n' "$sel" "$addr" "$role" "$fam"
      printf '    %s daddr %s counter name "%s_v%s_rx"\n' "$sel" "$addr" "$role" "$fam"
    done
  done
  cat <<EOF
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ip saddr $TOPO_LAN4_NET ip daddr ${TOPO_V4[router]} icmp type echo-request counter name "router_v4_in"
    ip6 saddr $TOPO_LAN6_NET ip6 daddr ${TOPO_V6[router]} icmpv6 type echo-request counter name "router_v6_in"
  }
  chain output {
    type filter hook output priority filter; policy accept;
    ip saddr ${TOPO_V4[router]} ip daddr $TOPO_LAN4_NET icmp type echo-reply counter name "router_v4_out"
    ip6 saddr ${TOPO_V6[router]} ip6 daddr $TOPO_LAN6_NET icmpv6 type echo-reply counter name "router_v6_out"
  }
}
EOF
}

_topo_build() {
  local prefix=$1 role r=${1}router w=${1}wan
  for role in $TOPO_ROLES; do
    ip netns add "$prefix$role"
    # No duplicate address detection: addresses (link-local ones too) are
    # usable at once, so neighbour discovery does not hold the first
    # packets back for seconds.
    ip netns exec "$prefix$role" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
      net.ipv6.conf.default.accept_dad=0
  done

  ip -n "$r" link set lo up
  ip -n "$r" link add br0 type bridge
  ip -n "$r" link set br0 up
  ip -n "$r" addr add "${TOPO_V4[router]}/24" dev br0
  ip -n "$r" -6 addr add "${TOPO_V6[router]}/64" dev br0 nodad
  for role in $TOPO_LAN_ROLES; do
    _topo_lan_host "$prefix" "$role"
  done

  ip -n "$r" link add wan0 type veth peer name eth0 netns "$w"
  ip -n "$r" link set wan0 up
  ip -n "$r" addr add "${TOPO_V4[router_wan]}/24" dev wan0
  ip -n "$r" -6 addr add "${TOPO_V6[router_wan]}/64" dev wan0 nodad
  ip -n "$w" link set lo up
  ip -n "$w" link set eth0 up
  ip -n "$w" addr add "${TOPO_V4[wan]}/24" dev eth0
  ip -n "$w" -6 addr add "${TOPO_V6[wan]}/64" dev eth0 nodad
  ip -n "$w" addr add "${TOPO_V4[wan2]}/24" dev eth0
  ip -n "$w" -6 addr add "${TOPO_V6[wan2]}/64" dev eth0 nodad
  # The WAN reaches the LAN's IPv6 hosts directly (no NAT); IPv4 only
  # through the router's own address (masquerade, port forward).
  ip -n "$w" -6 route add "$TOPO_LAN6_NET" via "${TOPO_V6[router_wan]}"

  ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1 \
    net.ipv6.conf.all.forwarding=1
  # Bridged LAN-to-LAN frames must not reach the IP hooks (br_netfilter
  # defaults to calling them): they would be tracked and counted.
  local knob
  for knob in arptables iptables ip6tables; do
    if [[ -e /proc/sys/net/bridge/bridge-nf-call-$knob ]]; then
      ip netns exec "$r" sysctl -qw "net.bridge.bridge-nf-call-$knob=0"
    fi
  done
  # acct first: entries the ruleset lets the kernel create get counters.
  topo_set_acct "$prefix" "$TOPO_ACCT"
  _topo_ruleset | ip netns exec "$r" nft -f -

  _topo_servers "$prefix" wan "${TOPO_V4[wan]}" "${TOPO_V6[wan]}" \
    "${TOPO_V4[wan2]}" "${TOPO_V6[wan2]}"
  _topo_servers "$prefix" srv "${TOPO_V4[srv]}" "${TOPO_V6[srv]}"
  ip netns exec "${prefix}srv" iperf3 -s -D -p "$TOPO_FWD_TO_PORT" >/dev/null
  _topo_wait_servers "$prefix"
  _topo_warm_up "$prefix"
}

# Resolves every neighbour once, then empties the router's conntrack table:
# a first packet held back by neighbour discovery makes TCP retransmit its
# SYN, and conntrack passes some duplicate handshake packets without
# counting them (TCP_CONNTRACK_IGNORE), so they would show up in the truth
# counters only.
_topo_warm_up() {
  local prefix=$1 role pids=() pid
  for role in $TOPO_LAN_ROLES; do
    ip netns exec "$prefix$role" ping -q -c 1 -W 2 "${TOPO_V4[router]}" >/dev/null &
    pids+=($!)
    ip netns exec "$prefix$role" ping -q -c 1 -W 2 "${TOPO_V6[router]}" >/dev/null &
    pids+=($!)
  done
  ip netns exec "${prefix}wan" ping -q -c 1 -W 2 "${TOPO_V4[router_wan]}" >/dev/null &
  pids+=($!)
  ip netns exec "${prefix}wan" ping -q -c 1 -W 2 "${TOPO_V6[router_wan]}" >/dev/null &
  pids+=($!)
  for role in $TOPO_LAN_ROLES wan wan2; do
    ip netns exec "${prefix}router" ping -q -c 1 -W 2 "${TOPO_V4[$role]}" >/dev/null &
    pids+=($!)
    ip netns exec "${prefix}router" ping -q -c 1 -W 2 "${TOPO_V6[$role]}" >/dev/null &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid"
  done
  ip netns exec "${prefix}router" conntrack -F 2>/dev/null
  ip netns exec "${prefix}router" nft reset counters table inet ctfi_truth >/dev/null
}

# Waits (at most 5 s) until every server listens.
_topo_wait_servers() {
  local prefix=$1 role i want have
  for role in wan srv; do
    # iperf3 ports, the TCP echo, request/response, and in srv the port
    # forward's target
    want=$(($(wc -w <<<"$TOPO_IPERF_PORTS") + 2))
    [[ $role != srv ]] || want=$((want + 1))
    for ((i = 0; i < 50; i++)); do
      have=$(ip netns exec "$prefix$role" ss -Htln | wc -l)
      if ((have >= want)) &&
        ip netns exec "$prefix$role" ss -Huln | grep -q ":$TOPO_UDP_PORT "; then
        break
      fi
      sleep 0.1
    done
    if ((i == 50)); then
      echo "topology: servers in $prefix$role did not start" >&2
      return 1
    fi
  done
}

topo_up() {
  local prefix=${1:?topo_up PREFIX}
  _topo_check_prefix "$prefix" || return 1
  local role
  for role in $TOPO_ROLES; do
    if [[ -e /run/netns/$prefix$role ]]; then
      echo "topology: namespace $prefix$role exists already" >&2
      return 1
    fi
  done
  if ! _topo_strict _topo_build "$prefix"; then
    echo "topology: building $prefix* failed" >&2
    return 1
  fi
}

# Runs library function FUNC in a fresh bash with errexit: any failing step
# fails the whole, even when the caller tests the result (where bash would
# otherwise ignore -e inside functions).
_topo_strict() {
  local vars funcs names
  mapfile -t names < <(compgen -v TOPO_; compgen -v _TOPO_)
  vars=$(declare -p "${names[@]}")
  mapfile -t names < <(compgen -A function _topo_; compgen -A function topo_)
  funcs=$(declare -f "${names[@]}")
  bash -euo pipefail -c "$vars
$funcs
\"\$@\"" _topo_strict "$@"
}

# Ends every process in namespace NS (those this library or its user
# started there), by pid: TERM, then KILL after 2 s.
_topo_kill_ns() {
  local ns=$1 pids i
  for i in 1 2 3 4 5 6 7 8 9 10 11; do
    pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
    [[ -n $pids ]] || return 0
    # shellcheck disable=SC2086 # one pid per word
    if ((i < 11)); then kill -TERM $pids 2>/dev/null; else kill -KILL $pids 2>/dev/null; fi
    sleep 0.2
  done
}

topo_down() {
  local prefix=${1:?topo_down PREFIX} role
  _topo_check_prefix "$prefix" || return 1
  for role in $TOPO_ROLES; do
    [[ -e /run/netns/$prefix$role ]] || continue
    _topo_kill_ns "$prefix$role"
    ip netns del "$prefix$role" 2>/dev/null || true
  done
  return 0
}

topo_set_acct() {
  ip netns exec "${1}router" sysctl -qw "net.netfilter.nf_conntrack_acct=$2"
}

topo_counters() {
  ip netns exec "${1}router" nft list counters table inet ctfi_truth |
    awk '$1 == "counter" { name = $2 } $1 == "packets" { print name, $2, $4 }'
}

topo_counter() {
  topo_counters "$1" | awk -v n="$2" '$1 == n { print $2, $3; found = 1 }
    END { exit !found }'
}

topo_growth() {
  awk -v n="$3" 'FNR == 1 { file++ } $1 == n { p[file] = $2; b[file] = $3 }
    END { if (!(1 in p) || !(2 in p)) exit 1; print p[2] - p[1], b[2] - b[1] }' "$1" "$2"
}

topo_sample_counters() {
  local prefix=$1 file=$2 stop=$3 seconds=$4 end now
  end=$(($(date +%s) + seconds))
  while [[ ! -e $stop ]]; do
    now=$(date +%s.%N)
    [[ ${now%.*} -lt $end ]] || break
    topo_counters "$prefix" | sed "s/^/$now /" >>"$file"
    sleep 0.1
  done
}

topo_tcp() {
  local prefix=$1 role=$2 addr=$3 port=$4 dir=$5 bytes=$6 rate=${7:-}
  local args=(-c "$addr" -p "$port" -n "$bytes" --connect-timeout 3000)
  case $dir in
  up) ;;
  down) args+=(-R) ;;
  *)
    echo "topo_tcp: direction must be up or down, not '$dir'" >&2
    return 2
    ;;
  esac
  [[ -z $rate ]] || args+=(-b "$rate")
  timeout "$TOPO_TIMEOUT" ip netns exec "$prefix$role" iperf3 "${args[@]}" >/dev/null
}

topo_udp() {
  timeout "$TOPO_TIMEOUT" ip netns exec "$1$2" "$TOPO_PYTHON" -c "$_TOPO_UDP_CLIENT" \
    "$3" "$TOPO_UDP_PORT" "$4" "$5" "$6" "${7:-}"
}

topo_ping() {
  local prefix=$1 role=$2 addr=$3 count=$4 size=${5:-56}
  timeout "$TOPO_TIMEOUT" ip netns exec "$prefix$role" \
    ping -q -n -c "$count" -i 0.2 -W 2 -s "$size" "$addr" >/dev/null
}

topo_hold() {
  timeout "$TOPO_TIMEOUT" ip netns exec "$1$2" "$TOPO_PYTHON" -c "$_TOPO_HOLD_CLIENT" \
    "$3" "$TOPO_HOLD_PORT" "$4" "$5" "${6:-}"
}

topo_rr() {
  timeout "$TOPO_TIMEOUT" ip netns exec "$1$2" "$TOPO_PYTHON" -c "$_TOPO_PARALLEL$_TOPO_RR_CLIENT" \
    "$3" "$4" "$5" "${6:-1}" "${7:-0}"
}

topo_udp_pairs() {
  timeout "$TOPO_TIMEOUT" ip netns exec "$1$2" "$TOPO_PYTHON" -c "$_TOPO_PARALLEL$_TOPO_UDP_PAIRS_CLIENT" \
    "$3" "$TOPO_UDP_PORT" "$4" "$5" "${6:-1}" "${7:-20000}"
}

topo_table_empties() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(topo_exec "$1" router conntrack -C) == 0 ]] && return 0
    sleep 0.2
  done
  return 1
}

topo_short_timeouts() {
  local prefix=$1 t=$2 knob args=()
  for knob in tcp_timeout_fin_wait tcp_timeout_close_wait tcp_timeout_last_ack \
    tcp_timeout_time_wait tcp_timeout_close udp_timeout udp_timeout_stream \
    icmp_timeout icmpv6_timeout generic_timeout; do
    args+=("net.netfilter.nf_conntrack_$knob=$t")
  done
  ip netns exec "${prefix}router" sysctl -qw "${args[@]}"
}
