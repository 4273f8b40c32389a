#!/bin/bash
# hostile_names.sh: DHCP clients that name themselves so as to hide in, or
# be taken for, another host's series get no name, in the real collectd on
# the NAT router, with the csv writer and write_graphite (to a TCP
# listener in the router's namespace):
#   - h1's IPv4 address is "nas" (HostName); h2's lease calls it "NAS":
#     ctflow-nas carries h1's bytes only, h2 goes by its address;
#   - h3 and srv both call themselves "iPhone" ("iphone"): neither gets the
#     name, both go by their addresses;
#   - h2's IPv6 lease calls it fdc7_f10e_77__11, the Graphite path of h1's
#     unnamed IPv6 address: h2's IPv6 address goes by itself;
#   - h3's IPv6 lease calls it "tablet": a harmless name is used;
#   - each refused name is one warning, also after the lease file is
#     written again (a renewal);
#   - no two of ctflow's series share a Graphite path, each path's
#     counters never go down, and the hostile hosts' paths are their
#     addresses'.
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
[[ -f $COLLECTD_PLUGINS/write_graphite.so ]] ||
  ctfi_cannot_run "missing collectd plugin: $COLLECTD_PLUGINS/write_graphite.so"

PREFIX=ctfh-$$-
WORK=$(mktemp -d /tmp/ctfi-hostile_names.XXXXXX)
GRAPHITE_PORT=2003
stop_listener() {
  if [[ -n ${LISTENER:-} ]]; then kill "$LISTENER" 2>/dev/null || true; fi
}
ctfi_traps_topology stop_listener

H1=${TOPO_V4[h1]}
H1_6=${TOPO_V6[h1]}
H2=${TOPO_V4[h2]}
H2_6=${TOPO_V6[h2]}
H3=${TOPO_V4[h3]}
H3_6=${TOPO_V6[h3]}
SRV=${TOPO_V4[srv]}
W4=${TOPO_V4[wan]}
W6=${TOPO_V6[wan]}
LEASES=$WORK/dhcp.leases
# h1's IPv6 address as write_graphite writes it: ':' and '.' as '_'.
H1_6_GRAPHITE=${H1_6//:/_}

# Writes the lease file in place, as dnsmasq does, with leases that expire
# at $1: what the clients claim.
write_leases() {
  cat >"$LEASES" <<EOF
$1 02:00:00:00:00:12 $H2 NAS 01:02:00:00:00:00:12
$1 02:00:00:00:00:13 $H3 iPhone 01:02:00:00:00:00:13
$1 02:00:00:00:00:20 $SRV iphone *
duid 00:01:00:01:2c:8e:1a:7b:02:00:00:00:00:01
$1 305419896 $H2_6 $H1_6_GRAPHITE 00:04:6b:ad:a5:5e:00:00:00:00:00:00:00:00:00:00:00:12
$1 305419897 $H3_6 tablet 00:02:00:00:ab:11:00:00:00:00:00:13
EOF
}

# Prints the plugin instance of every ctflow host series in the csv (the
# directories' names without "ctflow-"), one a line.
csv_instances() {
  local d
  for d in "$WORK/csv/$CTFI_HOST"/ctflow-*; do
    [[ -d $d ]] && printf '%s\n' "${d##*/ctflow-}"
  done
}

# Prints the plugin instance of every ctflow path the listener received
# ("ctfi.ctflow-<instance>.<type>..."), one a line.
graphite_instances() {
  awk -v host="$CTFI_HOST" '{ split($1, p, ".") }
    p[1] == host && p[2] ~ /^ctflow-/ { print substr(p[2], 8) }' \
    "$WORK/graphite.txt" | sort -u
}

# Returns 1 when the value of a Graphite path of a ctflow counter (bytes,
# packets, connections begun: DERIVE) goes down from one line to a later
# one, and prints the first three such steps.
graphite_decreases() {
  tr -d '\r' <"$WORK/graphite.txt" | awk -v host="$CTFI_HOST" '
    index($1, host ".ctflow-") == 1 &&
    $1 ~ /\.(if_octets|if_packets)[^.]*\.(rx|tx)$|\.total_connections$/ {
      if (($1 in last) && $2 + 0 < last[$1] + 0 && bad++ < 3)
        print "# " $1 " went down: " last[$1] " -> " $2
      last[$1] = $2 }
    END { exit bad }'
}

# --- setup -------------------------------------------------------------------
start=$SECONDS
topo_up "$PREFIX"
write_leases 1764201600
: >"$WORK/graphite.txt"
ip netns exec "${PREFIX}router" socat -u \
  "TCP-LISTEN:$GRAPHITE_PORT,bind=127.0.0.1,reuseaddr,fork" \
  "OPEN:$WORK/graphite.txt,creat,append" &
LISTENER=$!
collectd_conf "$WORK" "write_graphite" "  LocalNetwork \"$TOPO_LAN4_NET\"
  LocalNetwork \"$TOPO_LAN6_NET\"
  HostName \"$H1\" \"nas\"
  HostsFile \"$LEASES\""
cat >>"$WORK/collectd.conf" <<EOF
<Plugin write_graphite>
  <Node "listener">
    Host "127.0.0.1"
    Port "$GRAPHITE_PORT"
    Protocol "tcp"
    StoreRates false
  </Node>
</Plugin>
EOF
ctfi_start_collectd "$WORK" "${PREFIX}router"
topo_counters "$PREFIX" >"$WORK/truth.before"

# --- traffic -----------------------------------------------------------------
ctfi_job "h1 tcp4 up" topo_tcp "$PREFIX" h1 "$W4" 5201 up 1M 8M
ctfi_job "h1 ping6" topo_ping "$PREFIX" h1 "$W6" 3
ctfi_job "h2 tcp4 down" topo_tcp "$PREFIX" h2 "$W4" 5202 down 1M 8M
ctfi_job "h2 ping6" topo_ping "$PREFIX" h2 "$W6" 4 300
ctfi_job "h3 ping4" topo_ping "$PREFIX" h3 "$W4" 3
ctfi_job "h3 ping6" topo_ping "$PREFIX" h3 "$W6" 3
ctfi_job "srv ping4" topo_ping "$PREFIX" srv "$W4" 3 200
ctfi_wait_jobs "traffic of the named and the hostile hosts"
n=$(collectd_reads "$WORK")
collectd_wait_reads "$WORK" $((n + 2))
topo_counters "$PREFIX" >"$WORK/truth.after"
collectd_wait_reads "$WORK" $((n + 3))
READ=$(csv_time_of "$WORK" ctflow-self/count-flows $((n + 3)))

# dnsmasq renews every lease: the file is written again, the claims stay.
write_leases 1764205200
n=$(collectd_reads "$WORK")
collectd_wait_reads "$WORK" $((n + 3))
collectd_stop "$WORK"
ctfi_check "collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
  test "$COLLECTD_STATUS" = 0
stop_listener
wait "$LISTENER" 2>/dev/null || true
LISTENER=

# --- the series on disk (csv) ------------------------------------------------
echo "# csv instances: $(csv_instances | tr '\n' ' ')"
growth() {
  truth_growth "$WORK/truth.before" "$WORK/truth.after" "$@"
}
truth_check "$WORK" nas "$READ" "nas (h1 IPv4, HostName; h2's lease says NAS)" \
  "$(growth h1 4)"
truth_check "$WORK" "$H2" "$READ" "$H2 (h2, whose lease claims NAS)" \
  "$(growth h2 4)"
truth_check "$WORK" "$H1_6" "$READ" "$H1_6 (h1 IPv6, no name)" "$(growth h1 6)"
truth_check "$WORK" "$H2_6" "$READ" \
  "$H2_6 (h2 IPv6, whose lease claims $H1_6_GRAPHITE)" "$(growth h2 6)"
truth_check "$WORK" tablet "$READ" "tablet (h3 IPv6, a harmless lease name)" \
  "$(growth h3 6)"
for a in "$H3" "$SRV"; do
  ctfi_check "$a, one of two clients that call themselves iPhone, goes by its address" \
    csv_has_series "$WORK" "$a" "$CTFI_HOST_SERIES"
done
for name in NAS iPhone iphone "$H1_6_GRAPHITE"; do
  ctfi_check "no series ctflow-$name" \
    test ! -e "$WORK/csv/$CTFI_HOST/ctflow-$name"
done

# --- the log -----------------------------------------------------------------
leases=${LEASES//./\\.}
ctfi_log_once "$WORK" "HostsFile $leases: lease name \"NAS\" ($H2) not used: .*HostName.*; it goes by its address" \
  warning "the warning that h2's lease claims the HostName nas"
ctfi_log_once "$WORK" "HostsFile $leases: 2 clients call themselves \"iPhone\" ($H3, $SRV): they go by their addresses" \
  warning "the warning that two clients call themselves iPhone"
ctfi_log_once "$WORK" "HostsFile $leases: lease name \"$H1_6_GRAPHITE\" ($H2_6) not used: it is an address" \
  warning "the warning that h2's IPv6 lease claims h1's IPv6 address"

# --- the series as Graphite names them ---------------------------------------
mapfile -t csv < <(csv_instances)
mapfile -t graphite < <(graphite_instances)
ctfi_check "write_graphite sent ${#graphite[@]} ctflow plugin instances (csv has ${#csv[@]})" \
  test "${#graphite[@]}" -gt 0
declare -A path_of=() owners=()
shared=()
for i in "${csv[@]}"; do
  p=$(graphite_escape "$i")
  path_of[$i]=$p
  if [[ -n ${owners[$p]:-} ]]; then shared+=("$p: ${owners[$p]} and $i"); fi
  owners[$p]="${owners[$p]:-}${owners[$p]:+ }$i"
done
ctfi_check "no two of ctflow's ${#csv[@]} plugin instances share a Graphite path${shared[*]:+: ${shared[*]}}" \
  test "${#shared[@]}" = 0
unowned=()
for p in "${graphite[@]}"; do
  [[ -n ${owners[$p]:-} ]] || unowned+=("$p")
done
ctfi_check "every Graphite path is one csv series' (${#graphite[@]} paths)${unowned[*]:+; not: ${unowned[*]}}" \
  test "${#unowned[@]}" = 0
ctfi_check "no Graphite path's counters go down (each carries one series)" \
  graphite_decreases
for a in "$H2" "$H3" "$SRV" "$H2_6" "$H1_6"; do
  p=$(graphite_escape "$a")
  ctfi_check "Graphite has ctflow-$p, the path of $a's own address" \
    grep -q "^$CTFI_HOST\.ctflow-$p\.if_octets\.rx " "$WORK/graphite.txt"
done
ctfi_check "Graphite's ctflow-$H1_6_GRAPHITE is the series of $H1_6 (h1's IPv6 address, ${path_of[$H1_6]:-none} in Graphite) alone: ${owners[$H1_6_GRAPHITE]:-none}" \
  test "${owners[$H1_6_GRAPHITE]:-}" = "$H1_6"

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
