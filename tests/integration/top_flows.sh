#!/bin/bash
# top_flows.sh: the top flows (ctflow-flows/if_octets-<key>) in the real
# collectd on a NAT router, with skewed traffic spanning many reads:
#   - the heaviest flows get series named as the README spells their keys,
#     built here from the addresses and ports the test used: conversation
#     and 5tuple keys, outbound through masquerade, routed IPv6, inbound
#     through the port forward (rule 2), ICMP and ICMPv6;
#   - per interval, the flows series (top keys + other) grow by what
#     ctflow-total grew (README, "Top flows per interval": they sum to
#     ctflow-total whenever the top keys were top in the previous interval
#     too), also with MaxHosts 2 and five LAN addresses active, where hosts
#     beyond the bound are keyed as host rule 3;
#   - TopFlows 0 writes no ctflow-flows series at all.
# Four collectd instances, one per configuration, read the same router's
# table at once: one topology and one traffic run serve them all.
# Needs root. Runs standalone with CTFLOW_SO=.../ctflow.so.
set -eEuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=${TESTS_DIR:-$here/..}
# shellcheck source=tests/lib/topology.sh
. "$TESTS_DIR/lib/topology.sh"
# shellcheck source=tests/lib/collectd.sh
. "$TESTS_DIR/lib/collectd.sh"

ctfi_require ip nft conntrack iperf3 socat ping ss timeout awk "$TOPO_PYTHON"

PREFIX=ctft-$$-
WORK=$(mktemp -d /tmp/ctft-top_flows.XXXXXX)
# One collectd per configuration (see conf_body).
RUNS="conversation 5tuple maxhosts none"
cleanup() {
  local run
  for run in $RUNS; do
    if collectd_running "$WORK/$run"; then collectd_stop "$WORK/$run"; fi
  done
  topo_down "$PREFIX"
  if [[ -n ${CTFI_KEEP:-} ]]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
}
ctfi_traps cleanup

W4=${TOPO_V4[wan]}
W6=${TOPO_V6[wan]}
FWD=${TOPO_V4[router_wan]}
H1=${TOPO_V4[h1]}
H2_6=${TOPO_V6[h2]}
H3=${TOPO_V4[h3]}
H3_6=${TOPO_V6[h3]}
SRV=${TOPO_V4[srv]}
# Client ports the test binds, so that 5tuple keys are known in advance.
H1_PORT=40011
H2_PORT=40012
H3_UDP_PORT=40013
MIB=1048576

# The flows and their keys (README, "Flow keys"): <local>-<remote>-<proto>
# [-<service port>][-<local port>]. The service port is the original
# destination port: for the port forward the one the visitor dialled.
H1_BYTES=30 # MiB h1 downloads (masquerade), the heaviest
H2_BYTES=8  # MiB h2 uploads over IPv6 (routed)
SRV_BYTES=4 # MiB srv sends a visitor through the port forward (rule 2)
K_H1=$H1-$W4-tcp-5201
K_H2=$H2_6-$W6-tcp-5202
K_SRV=$SRV-$W4-tcp-$TOPO_FWD_PORT
K_H3_UDP=$H3-$W4-udp-$TOPO_UDP_PORT
K_H3_ICMP=$H3-$W4-icmp
K_H3_ICMP6=$H3_6-$W6-icmpv6
K5_H1=$K_H1-$H1_PORT
K5_H2=$K_H2-$H2_PORT
K5_SRV=$K_SRV-$TOPO_FWD_TO_PORT # the local port: srv's own, after DNAT
K5_H3_UDP=$K_H3_UDP-$H3_UDP_PORT
# With srv beyond MaxHosts its entries go to "other" (rule 3), keyed from
# the original source: the visitor, to the address it dialled.
K3_SRV=$W4-$FWD-tcp-$TOPO_FWD_PORT

# Prints the <Plugin ctflow> body of run $1.
conf_body() {
  printf '  LocalNetwork "%s"\n  LocalNetwork "%s"\n' "$TOPO_LAN4_NET" "$TOPO_LAN6_NET"
  case $1 in
  conversation) printf '  TopFlows 3\n' ;;
  5tuple) printf '  TopFlows 3\n  FlowKey "5tuple"\n' ;;
  maxhosts) printf '  TopFlows 3\n  MaxHosts 2\n' ;;
  none) printf '  TopFlows 0\n' ;;
  esac
}

# paced_tcp ROLE ADDR PORT up|down MIB RATE [CLIENT_PORT]: one iperf3
# transfer of MIB MiB at RATE bits/s, its data connection from CLIENT_PORT
# (iperf3's control connection keeps an ephemeral port).
paced_tcp() {
  local role=$1 addr=$2 port=$3 dir=$4 mib=$5 rate=$6 cport=${7:-}
  local args=(-c "$addr" -p "$port" -n "${mib}M" -b "$rate" --connect-timeout 3000)
  if [[ $dir == down ]]; then args+=(-R); fi
  if [[ -n $cport ]]; then args+=(--cport "$cport"); fi
  timeout "$TOPO_TIMEOUT" ip netns exec "$PREFIX$role" iperf3 "${args[@]}" >/dev/null
}

# Reads one run's csv files and compares, read by read, the growth of the
# ctflow-flows series of TYPE (if_octets or if_packets; rx + tx) with that
# of ctflow-total. A read is compared only when its top keys are those of
# the read before: a key that enters the top N after an absence has its
# series' last line from an older read, so its first increment carries
# bytes that "other" already counted in the intervals it was away (and a
# key new to the top has no line to start from). A key series missing in a
# read contributes nothing to it.
# argv: the csv host dir, TYPE, the keys expected on top (comma separated).
# Prints "# " detail lines, then "compared worst_error_percent
# reads_with_expected_top reads top_changes", then "# " each top set seen.
INTERVALS='
import collections, os, re, sys
host_dir, typ = sys.argv[1], sys.argv[2]
expected = set(k for k in sys.argv[3].split(",") if k)

def series(plugin_dir):
    """{instance: [(time, rx + tx)]} of TYPE under plugin_dir."""
    out = collections.defaultdict(list)
    d = os.path.join(host_dir, plugin_dir)
    if not os.path.isdir(d):
        return out
    pattern = re.compile(re.escape(typ) + r"(?:-(.*))?-\d{4}-\d\d-\d\d")
    for name in os.listdir(d):
        m = pattern.fullmatch(name)
        if not m:
            continue
        with open(os.path.join(d, name)) as f:
            for line in f:
                v = line.strip().split(",")
                if v[0][:1].isdigit() and len(v) == 3:
                    out[m.group(1) or ""].append((float(v[0]), int(float(v[1])) + int(float(v[2]))))
    return out

def at(points, t):
    """The value the read at t wrote: the nearest line within 0.3 s."""
    best = None
    for pt, v in points:
        if abs(pt - t) < 0.3 and (best is None or abs(pt - t) < best[0]):
            best = (abs(pt - t), v)
    return None if best is None else best[1]

total = sorted(series("ctflow-total")[""])
flows = series("ctflow-flows")
reads = []
for t, tv in total:
    vals = {k: at(p, t) for k, p in flows.items()}
    vals = {k: v for k, v in vals.items() if v is not None}
    reads.append((t, tv, vals))
compared, worst, changes, with_expected = 0, 0.0, 0, 0
sets = collections.Counter()
for i, (t, tv, vals) in enumerate(reads):
    top = frozenset(k for k in vals if k != "other")
    sets[top] += 1
    with_expected += bool(expected) and top == expected
    if i == 0 or "other" not in vals:
        continue
    pt, ptv, pvals = reads[i - 1]
    if "other" not in pvals:
        continue
    if top != frozenset(k for k in pvals if k != "other"):
        changes += 1
        continue
    grew_total = tv - ptv
    if grew_total <= 0:
        continue
    grew_flows = sum(v - pvals[k] for k, v in vals.items() if k in pvals)
    err = 100.0 * abs(grew_flows - grew_total) / grew_total
    worst = max(worst, err)
    compared += 1
    print("# read %d (%.3f): %d top keys + other grew %d, total %d, error %.4f%%"
          % (i + 1, t, len(top), grew_flows, grew_total, err))
print(compared, "%.4f" % worst, with_expected, len(reads), changes)
for top, n in sets.most_common():
    print("# %d reads with top keys: %s" % (n, " ".join(sorted(top)) or "(none)"))
'

# check_intervals RUN TYPE [EXPECTED_TOP]: ok when the flows series of RUN
# grew by total's growth within 0.1% in every compared read, and at least
# 4 reads were compared; with EXPECTED_TOP (comma separated keys), also ok
# when at least 3 reads had exactly those keys on top.
check_intervals() {
  local run=$1 type=$2 expected=${3:-} out compared worst exact reads changes
  out=$("$TOPO_PYTHON" -c "$INTERVALS" "$WORK/$run/csv/$CTFI_HOST" "$type" "$expected")
  grep '^# read' <<<"$out" || true
  read -r compared worst exact reads changes < <(grep -v '^#' <<<"$out")
  ctfi_check "$run: in each of $compared reads (of $reads; $changes skipped: the top keys changed) the ctflow-flows $type series (top keys + other) grew by ctflow-total's growth, worst error $worst% (should be equal; at most 0.1% allowed)" \
    awk -v n="$compared" -v w="$worst" 'BEGIN { exit !(n >= 4 && w <= 0.1) }'
  if [[ -n $expected ]]; then
    grep '^# [0-9]* reads with top keys' <<<"$out" || true
    ctfi_check "$run: $exact reads had exactly the 3 heaviest flows on top (want >= 3): ${expected//,/ }" \
      test "$exact" -ge 3
  fi
}

# flows_series RUN: prints the type instances of RUN's ctflow-flows/if_octets
# series, one a line.
flows_series() {
  local f
  for f in "$WORK/$1/csv/$CTFI_HOST/ctflow-flows"/if_octets-*; do
    [[ -f $f ]] || continue
    f=${f##*/if_octets-}
    printf '%s\n' "${f%-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]}"
  done | sort -u
}

# check_key RUN KEY WHAT: ok when RUN has a series for flow key KEY.
check_key() {
  ctfi_check "$1: $3 has the series ctflow-flows/if_octets-$2" \
    csv_has "$WORK/$1" "ctflow-flows/if_octets-$2"
}

# check_carried RUN KEY rx|tx MIB WHAT: ok when KEY's series ends with the
# MIB MiB the flow moved in direction rx or tx (as seen from its local
# end), within [-1%, +10%] (headers; a tail in the key's last interval, when
# it was not on top, may be missing), and the other direction carried less
# than a tenth of it (acknowledgements).
check_carried() {
  local run=$1 key=$2 dir=$3 mib=$4 what=$5 rx tx big small
  rx=$(csv_last "$WORK/$run" "ctflow-flows/if_octets-$key" 1 || echo 0)
  tx=$(csv_last "$WORK/$run" "ctflow-flows/if_octets-$key" 2 || echo 0)
  if [[ $dir == rx ]]; then big=$rx small=$tx; else big=$tx small=$rx; fi
  ctfi_check "$run: $what: ctflow-flows/if_octets-$key $dir $big bytes for $mib MiB, the other way $small" \
    awk -v b="$big" -v s="$small" -v m=$((mib * MIB)) \
    'BEGIN { exit !(b >= 0.99 * m && b <= 1.10 * m && s < b / 10) }'
}

# host_buckets RUN: prints the LAN addresses RUN has host series for.
host_buckets() {
  local d a
  for d in "$WORK/$1/csv/$CTFI_HOST"/ctflow-*; do
    a=${d##*/ctflow-}
    case $a in total | other | kernel | self | flows) continue ;; esac
    printf '%s\n' "$a"
  done | sort | tr '\n' ' '
}

# Waits until every run has written N more reads than now.
wait_reads_all() {
  local run
  local -A now
  for run in $RUNS; do
    now[$run]=$(collectd_reads "$WORK/$run")
  done
  for run in $RUNS; do
    collectd_wait_reads "$WORK/$run" $((now[$run] + $1)) 10
  done
}

# Returns 0 when the router's table has entries from every address given.
table_has_sources() {
  local a list
  list=$(topo_exec "$PREFIX" router conntrack -L 2>/dev/null)
  for a in "$@"; do
    grep -q "src=$a " <<<"$list" || return 1
  done
}

# --- setup -------------------------------------------------------------------
start=$SECONDS
topo_up "$PREFIX"
# IGMP reports to 224.0.0.22 come at moments of the kernel's choosing, from
# the router and (bridged up to br0) from the LAN hosts; conntrack tracks
# them, and by host rule 1 (local source, remote destination) each makes
# its sender a host: the router's LAN address too, and with MaxHosts 2 one
# could take a bucket before the test's traffic does. Left untracked here,
# the hosts are those the test's traffic makes.
topo_exec "$PREFIX" router nft -f - <<EOF
table ip ctft_quiet {
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    ip protocol igmp notrack
  }
  chain output {
    type filter hook output priority raw; policy accept;
    ip protocol igmp notrack
  }
}
EOF
topo_exec "$PREFIX" router conntrack -F 2>/dev/null
for run in $RUNS; do
  collectd_conf "$WORK/$run" "" "$(conf_body "$run")"
  collectd_start "$WORK/$run" "${PREFIX}router"
done
for run in $RUNS; do
  if ! collectd_wait_reads "$WORK/$run" 1; then
    ctfi_not_ok "$run: collectd did not complete a ctflow read; its log:"
    sed 's/^/# /' "$WORK/$run/collectd.log"
    exit 1
  fi
done

# --- traffic -----------------------------------------------------------------
# h1 and h3 (IPv4) first: with MaxHosts 2 they take the two host buckets,
# and the later hosts (h2 over IPv6, srv, h3 over IPv6) go to "other".
# h3's small flows outlast the big ones by ~3 s: then they are the top.
ctfi_job "h1 downloads $H1_BYTES MiB (24 Mbit/s)" \
  paced_tcp h1 "$W4" 5201 down "$H1_BYTES" 24M "$H1_PORT"
ctfi_job "h3 udp4 (70 x 300 bytes)" topo_udp "$PREFIX" h3 "$W4" 70 300 0.2 "$H3_UDP_PORT"
ctfi_job "h3 ping4 (70)" topo_ping "$PREFIX" h3 "$W4" 70
for ((i = 0; i < 50; i++)); do
  table_has_sources "$H1" "$H3" && break
  sleep 0.1
done
# A read that began after both appeared has given them their buckets.
wait_reads_all 2
ctfi_job "h2 uploads $H2_BYTES MiB over IPv6 (8 Mbit/s)" \
  paced_tcp h2 "$W6" 5202 up "$H2_BYTES" 8M "$H2_PORT"
ctfi_job "srv sends $SRV_BYTES MiB through the port forward (4 Mbit/s)" \
  paced_tcp wan "$FWD" "$TOPO_FWD_PORT" down "$SRV_BYTES" 4M
ctfi_job "h3 ping6 (60)" topo_ping "$PREFIX" h3 "$W6" 60
ctfi_wait_jobs "traffic"
wait_reads_all 2
for run in $RUNS; do
  collectd_stop "$WORK/$run"
  ctfi_check "$run: collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
    test "$COLLECTD_STATUS" = 0
done
echo "# traffic and reads took $((SECONDS - start)) s"

# --- conversation keys (the default) -------------------------------------------
echo "# conversation: flows series: $(flows_series conversation | tr '\n' ' ')"
hosts=$(host_buckets conversation)
want=$(printf '%s\n' "$H1" "$H2_6" "$H3" "$H3_6" "$SRV" | sort | tr '\n' ' ')
ctfi_check "conversation: the five LAN addresses the test used have host series: $hosts" \
  test "$hosts" = "$want"
check_key conversation "$K_H1" "h1's masqueraded download"
check_key conversation "$K_H2" "h2's routed IPv6 upload"
check_key conversation "$K_SRV" "srv's port forward (rule 2: local srv, remote the visitor, service port $TOPO_FWD_PORT)"
check_key conversation "$K_H3_UDP" "h3's UDP flow"
check_key conversation "$K_H3_ICMP" "h3's ICMP echo (no ports)"
check_key conversation "$K_H3_ICMP6" "h3's ICMPv6 echo (no ports)"
check_key conversation other "the rest"
check_carried conversation "$K_H1" rx "$H1_BYTES" "h1 received the download"
check_carried conversation "$K_H2" tx "$H2_BYTES" "h2 sent the upload"
check_carried conversation "$K_SRV" tx "$SRV_BYTES" "srv sent through the port forward"
check_intervals conversation if_octets "$K_H1,$K_H2,$K_SRV"
check_intervals conversation if_packets

# --- 5tuple keys ------------------------------------------------------------------
echo "# 5tuple: flows series: $(flows_series 5tuple | tr '\n' ' ')"
check_key 5tuple "$K5_H1" "h1's download, from client port $H1_PORT"
check_key 5tuple "$K5_H2" "h2's IPv6 upload, from client port $H2_PORT"
check_key 5tuple "$K5_SRV" "srv's port forward, local port $TOPO_FWD_TO_PORT"
check_key 5tuple "$K5_H3_UDP" "h3's UDP flow, from port $H3_UDP_PORT"
check_key 5tuple "$K_H3_ICMP" "h3's ICMP echo (no ports: as a conversation key)"
check_key 5tuple "$K_H3_ICMP6" "h3's ICMPv6 echo (no ports: as a conversation key)"
conv_named=$(flows_series 5tuple | grep -Fx -e "$K_H1" -e "$K_H2" -e "$K_SRV" -e "$K_H3_UDP" || true)
ctfi_check "5tuple: no series is named with a conversation key of a flow with ports (${conv_named:-none})" \
  test -z "$conv_named"
check_carried 5tuple "$K5_H1" rx "$H1_BYTES" "h1 received the download"
check_carried 5tuple "$K5_H2" tx "$H2_BYTES" "h2 sent the upload"
check_carried 5tuple "$K5_SRV" tx "$SRV_BYTES" "srv sent through the port forward"
check_intervals 5tuple if_octets "$K5_H1,$K5_H2,$K5_SRV"
check_intervals 5tuple if_packets

# --- MaxHosts 2 ---------------------------------------------------------------------
echo "# maxhosts: flows series: $(flows_series maxhosts | tr '\n' ' ')"
hosts=$(host_buckets maxhosts)
want=$(printf '%s\n' "$H1" "$H3" | sort | tr '\n' ' ')
ctfi_check "maxhosts: the two hosts seen first have host series, the other three none: $hosts" \
  test "$hosts" = "$want"
other=$(($(csv_last "$WORK/maxhosts" ctflow-other/if_octets 1 || echo 0) + \
  $(csv_last "$WORK/maxhosts" ctflow-other/if_octets 2 || echo 0)))
ctfi_check "maxhosts: host \"other\" carried the hosts beyond MaxHosts: $other bytes (>= $((H2_BYTES + SRV_BYTES)) MiB)" \
  test "$other" -ge $(((H2_BYTES + SRV_BYTES) * MIB))
check_key maxhosts "$K3_SRV" "srv, beyond MaxHosts, keyed as rule 3 (from the visitor)"
ctfi_check "maxhosts: no series for srv's rule 2 key $K_SRV" \
  test -z "$(flows_series maxhosts | grep -Fx -e "$K_SRV" || true)"
check_key maxhosts "$K_H2" "h2, beyond MaxHosts (rule 3 names it as rule 1)"
check_intervals maxhosts if_octets
check_intervals maxhosts if_packets

# --- TopFlows 0 -------------------------------------------------------------------
found=$(find "$WORK/none/csv" -path '*ctflow-flows*' -printf '%f ')
ctfi_check "none (TopFlows 0): no ctflow-flows series (${found:-none})" test -z "$found"
total=$(csv_last "$WORK/none" ctflow-total/if_octets 1 || echo 0)
ctfi_check "none (TopFlows 0): ctflow-total still counts: $total bytes received (>= h1's $H1_BYTES MiB)" \
  test "$total" -ge $((H1_BYTES * MIB))

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
