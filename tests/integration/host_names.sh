#!/bin/bash
# host_names.sh: hosts named by a HostName option and by a dnsmasq lease
# file go out under their names, in the real collectd on the NAT router:
#   - h1's IPv4 address is "laptop" (HostName); its IPv6 one has no name;
#   - h2's IPv4 and IPv6 leases are both "phone" (HostsFile): a dual-stack
#     host, one series; h3's lease has no name ('*'); one line is no lease;
#   - each named series has a host's 9 series, the named addresses have none
#     of their own, and bytes and packets agree with the router's nftables
#     counters (within 0.1%);
#   - the lease file rewritten in place, as dnsmasq does, renames h2
#     "tablet" within a few reads; "phone" stops being written, "tablet"
#     counts only what h2 carried since, and every byte is in exactly one
#     series.
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

PREFIX=ctfn-$$-
WORK=$(mktemp -d /tmp/ctfi-host_names.XXXXXX)
ctfi_traps_topology

H1=${TOPO_V4[h1]}
H1_6=${TOPO_V6[h1]}
H2=${TOPO_V4[h2]}
H2_6=${TOPO_V6[h2]}
H3=${TOPO_V4[h3]}
W4=${TOPO_V4[wan]}
W6=${TOPO_V6[wan]}
LEASES=$WORK/dhcp.leases
BAD_LINE=4

# Writes the lease file in place (truncate and write, as dnsmasq does),
# naming h2 $1 on both of its addresses.
write_leases() {
  cat >"$LEASES" <<EOF
1764201600 02:00:00:00:00:12 $H2 $1 01:02:00:00:00:00:12
1764201600 02:00:00:00:00:13 $H3 * *
duid 00:01:00:01:2c:8e:1a:7b:02:00:00:00:00:01
this line is no lease
1764201600 305419896 $H2_6 $1 00:01:00:01:2c:8e:aa:bb:02:00:00:00:00:12
EOF
}

# Prints the number of lines SERIES has.
lines() {
  csv_lines "$WORK" "$1"
}

# settle FILE: waits two reads for the traffic to settle in ctflow, writes
# the truth counters into FILE, and sets READ to the epoch of the read
# after that, which counted all that the truth counted.
settle() {
  local n
  n=$(collectd_reads "$WORK")
  collectd_wait_reads "$WORK" $((n + 2))
  topo_counters "$PREFIX" >"$1"
  collectd_wait_reads "$WORK" $((n + 3))
  READ=$(csv_time_of "$WORK" ctflow-self/count-flows $((n + 3)))
}

# --- setup -------------------------------------------------------------------
start=$SECONDS
topo_up "$PREFIX"
write_leases phone
collectd_conf "$WORK" "" "  LocalNetwork \"$TOPO_LAN4_NET\"
  LocalNetwork \"$TOPO_LAN6_NET\"
  HostName \"$H1\" \"laptop\"
  HostsFile \"$LEASES\""
ctfi_start_collectd "$WORK" "${PREFIX}router"
topo_counters "$PREFIX" >"$WORK/truth.before"

# The lease file's path, as a grep pattern, and its bad line.
BAD_LINE_WARNING="HostsFile ${LEASES//./\\.}: .*line $BAD_LINE,"
ctfi_log_once "$WORK" "$BAD_LINE_WARNING" warning \
  "the warning naming the lease file and its bad line $BAD_LINE"

# --- phase 1: traffic under the first names ------------------------------------
ctfi_job "h1 tcp4 up" topo_tcp "$PREFIX" h1 "$W4" 5201 up 2M 16M
ctfi_job "h1 tcp4 down" topo_tcp "$PREFIX" h1 "$W4" 5202 down 1M
ctfi_job "h1 ping6" topo_ping "$PREFIX" h1 "$W6" 3
ctfi_job "h2 tcp4 down" topo_tcp "$PREFIX" h2 "$W4" 5203 down 2M 16M
ctfi_job "h2 tcp6 up" topo_tcp "$PREFIX" h2 "$W6" 5204 up 1M 8M
ctfi_job "h2 udp4" topo_udp "$PREFIX" h2 "$W4" 10 500 0.05
ctfi_job "h3 ping4" topo_ping "$PREFIX" h3 "$W4" 3
ctfi_wait_jobs "traffic under the first names"
settle "$WORK/truth.phase1"

for name in laptop phone; do
  ctfi_check "ctflow-$name has the 9 host series" \
    csv_has_series "$WORK" "$name" "$CTFI_HOST_SERIES"
done
for a in "$H1" "$H2" "$H2_6"; do
  ctfi_check "no series for the named address $a" \
    test -z "$(find "$WORK/csv/$CTFI_HOST" -maxdepth 1 -name "ctflow-$a" -printf x)"
done
ctfi_check "h1's unnamed IPv6 address keeps its own series ctflow-$H1_6" \
  csv_has_series "$WORK" "$H1_6" "$CTFI_HOST_SERIES"
ctfi_check "h3, whose lease has no name ('*'), keeps its own series ctflow-$H3" \
  csv_has_series "$WORK" "$H3" "$CTFI_HOST_SERIES"

phase1() {
  truth_growth "$WORK/truth.before" "$WORK/truth.phase1" "$@"
}
truth_check "$WORK" laptop "$READ" "laptop (h1 IPv4, HostName)" "$(phase1 h1 4)"
truth_check "$WORK" phone "$READ" "phone (h2 IPv4 + IPv6, lease file)" \
  "$(phase1 h2 4 6)"
truth_check "$WORK" "$H1_6" "$READ" "$H1_6 (h1 IPv6, no name)" "$(phase1 h1 6)"

# --- phase 2: dnsmasq renames h2 while collectd runs ---------------------------
n=$(collectd_reads "$WORK")
write_leases tablet
found=no
if collectd_wait_lines "$WORK" ctflow-tablet/if_octets 1 5; then found=yes; fi
reads=$(($(collectd_reads "$WORK") - n))
ctfi_check "ctflow-tablet appears $reads reads after the lease file renamed h2 (at most 3)" \
  test "$found" = yes -a "$reads" -le 3
first=$(csv_last "$WORK" ctflow-tablet/if_octets 1 || echo none)
ctfi_check "ctflow-tablet starts from what h2 carried since the rename (0, h2 was idle), not from its past: $first" \
  test "$first" = 0
phone_lines=$(lines ctflow-phone/if_octets)
topo_counters "$PREFIX" >"$WORK/truth.renamed"

ctfi_job "h2 tcp4 up" topo_tcp "$PREFIX" h2 "$W4" 5205 up 1M 8M
ctfi_job "h2 ping6" topo_ping "$PREFIX" h2 "$W6" 3 500
ctfi_wait_jobs "traffic under the new name"
settle "$WORK/truth.after"
truth_check "$WORK" tablet "$READ" "tablet (h2 since the rename)" \
  "$(truth_growth "$WORK/truth.renamed" "$WORK/truth.after" h2 4 6)"
ctfi_check "ctflow-tablet has the 9 host series" \
  csv_has_series "$WORK" tablet "$CTFI_HOST_SERIES"
now=$(lines ctflow-phone/if_octets)
ctfi_check "ctflow-phone is no longer written (lines $phone_lines -> $now)" \
  test "$now" = "$phone_lines"
collectd_stop "$WORK"
ctfi_check "collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
  test "$COLLECTD_STATUS" = 0

ctfi_log_once "$WORK" "$BAD_LINE_WARNING" warning \
  "after the lease file was read again, the warning about its bad line $BAD_LINE"

# Every byte in exactly one series: total equals the sum of the last value
# of every host series, the old name's included, and other.
for col in 1 2; do
  sum=0
  for d in "$WORK/csv/$CTFI_HOST"/ctflow-*; do
    case ${d##*/ctflow-} in total | kernel | self | flows) continue ;; esac
    sum=$((sum + $(csv_last "$WORK" "${d##*/}/if_octets" "$col")))
  done
  got=$(csv_last "$WORK" ctflow-total/if_octets "$col")
  ctfi_check "ctflow-total bytes (column $col) $got == the sum of every host series and other, phone's last value included: $sum" \
    test "$got" = "$sum"
done

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
