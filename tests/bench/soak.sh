#!/bin/bash
# soak.sh: ctflow under everything at once, for a long time.
#
#   sudo CTFLOW_BUILD=build/release tests/bench/soak.sh MINUTES
#
# The real collectd with ctflow reads the demo router's table every 2 s
# (tests/lib/topology.sh) with a lease file (HostsFile), top flows and
# events, while, all at once and for MINUTES:
#   - LAN hosts make short TCP connections, UDP pairs and pings (IPv4 and
#     IPv6, outbound and through the port forward), round after round;
#   - ctflow-bench --flood ends 20,000 entries a second in the table;
#   - entries are deleted (conntrack -D) and the table's counters zeroed
#     (conntrack -L -z) every few seconds;
#   - the lease file is rewritten in place every 3 s, names changing,
#     clients coming and going, hostile names among them.
# Every SOAK_SAMPLE seconds (default 60) it prints collectd's RSS, open
# descriptors and threads, and the last read's duration. At the end it
# checks that they stayed flat: descriptors and threads the same as at the
# first sample, RSS within 10% (and 4 MiB) of the first sample taken after
# a quarter of the run (the tables have grown to their working size by
# then), every read within the interval, no DERIVE series going down, and
# total equal to the sum of the buckets at every read.
#
# CTFLOW_SO and CTFLOW_BENCH name the plugin and the benchmark binary;
# else they are taken from the build tree $CTFLOW_BUILD (default: the
# current directory). tests/integration/soak_short.sh runs it for 2
# minutes in the test run.
set -eEuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=${TESTS_DIR:-$here/..}
# shellcheck source=tests/lib/topology.sh
. "$TESTS_DIR/lib/topology.sh"
# shellcheck source=tests/lib/collectd.sh
. "$TESTS_DIR/lib/collectd.sh"

minutes=${1:-}
[[ $minutes =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: soak.sh MINUTES" >&2
  exit 2
}
build=${CTFLOW_BUILD:-$PWD}
CTFLOW_SO=${CTFLOW_SO:-$build/plugin/.libs/ctflow.so}
CTFLOW_BENCH=${CTFLOW_BENCH:-$build/tests/bench/ctflow-bench}
export CTFLOW_SO
SAMPLE=${SOAK_SAMPLE:-60}

ctfi_require ip nft conntrack iperf3 socat ping timeout awk "$TOPO_PYTHON"
[[ -x $CTFLOW_BENCH ]] ||
  ctfi_cannot_run "CTFLOW_BENCH='$CTFLOW_BENCH' is not the built ctflow-bench (make check or make bench builds it)"

PREFIX=ctsk-$$-
WORK=$(mktemp -d /tmp/ctsk-soak.XXXXXX)
STOP=$WORK/stop
cleanup() {
  touch "$STOP"
  if collectd_running "$WORK"; then collectd_stop "$WORK"; fi
  topo_down "$PREFIX"
  if [[ -n ${CTFI_KEEP:-} ]]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
}
ctfi_traps cleanup
CTFI_INTERVAL=2
LEASES=$WORK/dhcp.leases

# Rewrites the lease file in place (as dnsmasq does) for round R: names
# change, a client comes and goes, and some clients pick hostile names.
write_leases() {
  local r=$1 hostile
  hostile=$(printf 'nas %s 192_168_77_12 TOTAL a..b/c' "$(head -c 300 /dev/zero | tr '\0' x)" |
    cut -d' ' -f$((r % 5 + 1)))
  {
    echo "0 02:00:00:00:00:11 ${TOPO_V4[h1]} laptop-$((r % 7)) *"
    echo "0 02:00:00:00:00:12 ${TOPO_V4[h2]} $hostile *"
    ((r % 2)) && echo "0 02:00:00:00:00:13 ${TOPO_V4[h3]} phone *"
    echo "0 305419896 ${TOPO_V6[h1]} laptop-$((r % 7)) 00:03:00:01:02:00:00:00:00:11"
    echo "duid 00:01:00:01:2c:8e:1a:7b:02:00:00:00:00:01"
  } >"$LEASES"
}

leases_loop() {
  local r=0
  while [[ ! -e $STOP ]]; do
    write_leases $((r++))
    sleep 3
  done
}

traffic_loop() {
  local r=0
  while [[ ! -e $STOP ]]; do
    topo_rr "$PREFIX" h1 "${TOPO_V4[wan]}" "$TOPO_RR_PORT" 20 2 "$r" >/dev/null || true
    topo_rr "$PREFIX" h2 "${TOPO_V6[wan]}" "$TOPO_RR_PORT" 10 2 "$r" >/dev/null || true
    topo_rr "$PREFIX" wan "${TOPO_V4[router_wan]}" "$TOPO_FWD_RR_PORT" 10 2 "$r" >/dev/null || true
    topo_udp_pairs "$PREFIX" h3 "${TOPO_V4[wan]}" 10 400 2 $((20000 + r % 20 * 10)) >/dev/null || true
    topo_ping "$PREFIX" srv "${TOPO_V6[wan]}" 2 >/dev/null || true
    r=$((r + 1))
  done
}

tamper_loop() {
  while [[ ! -e $STOP ]]; do
    sleep 4
    topo_exec "$PREFIX" router conntrack -D -p udp >/dev/null 2>&1 || true
    sleep 3
    topo_exec "$PREFIX" router conntrack -L -z >/dev/null 2>&1 || true
  done
}

# Prints "RSS_KIB FDS THREADS" of collectd. FDS is the fewest of five
# looks 0.1 s apart: the csv writer and the lease file reader hold a file
# open for a moment, while a leaked descriptor stays in every look.
usage() {
  local pid fds=1000000 n
  pid=$(cat "$WORK/launch.pid")
  for _ in 1 2 3 4 5; do
    n=$(find "/proc/$pid/fd" -mindepth 1 | wc -l)
    ((n < fds)) && fds=$n
    sleep 0.1
  done
  echo "$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status") $fds $(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)"
}

topo_up "$PREFIX"
topo_short_timeouts "$PREFIX" 2
write_leases 0
collectd_conf "$WORK" "" "  LocalNetwork \"$TOPO_LAN4_NET\"
  LocalNetwork \"$TOPO_LAN6_NET\"
  HostsFile \"$LEASES\"
  TopFlows 10
  ForgetAfter 5"
collectd_start "$WORK" "${PREFIX}router"
collectd_wait_reads "$WORK" 2 20 ||
  ctfi_cannot_run "collectd did not complete two ctflow reads: $(tail -5 "$WORK/collectd.log")"

seconds=$((minutes * 60))
topo_exec "$PREFIX" router "$CTFLOW_BENCH" --flood 20000 "$seconds" >"$WORK/flood.out" 2>&1 &
flood=$!
leases_loop &
loops=($!)
traffic_loop &
loops+=($!)
tamper_loop &
loops+=($!)

printf '# %6s %10s %5s %8s %12s\n' minute "RSS KiB" fds threads "read s"
start=$SECONDS
samples=()
while ((SECONDS - start < seconds)); do
  sleep "$SAMPLE"
  read -r rss fds threads <<<"$(usage)"
  samples+=("$rss $fds $threads")
  printf '# %6.1f %10d %5d %8d %12s\n' "$(awk -v s=$((SECONDS - start)) 'BEGIN { print s / 60 }')" \
    "$rss" "$fds" "$threads" "$(csv_last "$WORK" ctflow-self/duration-read || echo none)"
done
touch "$STOP"
wait "$flood" "${loops[@]}" || true
collectd_wait_reads "$WORK" $(($(collectd_reads "$WORK") + 1)) 10 || true

n=${#samples[@]}
read -r _ fds0 threads0 <<<"${samples[0]}"
read -r rss_w _ _ <<<"${samples[n / 4]}"
read -r rss1 fds1 threads1 <<<"${samples[n - 1]}"
ctfi_check "collectd kept running for $minutes minutes" collectd_running "$WORK"
ctfi_check "open descriptors flat: $fds0 at the first sample, $fds1 at the last" \
  test "$fds0" = "$fds1"
ctfi_check "threads flat: $threads0 at the first sample, $threads1 at the last" \
  test "$threads0" = "$threads1"
ctfi_check "RSS flat: $rss_w KiB after a quarter of the run, $rss1 KiB at the end (within 10% and 4 MiB)" \
  awk -v a="$rss_w" -v b="$rss1" 'BEGIN { exit !(b <= a * 1.1 + 4096) }'
slowest=$(csv_values "$WORK" ctflow-self/duration-read | awk '$2 > m { m = $2 } END { print m + 0 }')
ctfi_check "every read within the ${CTFI_INTERVAL} s interval (slowest $slowest s)" \
  awk -v s="$slowest" -v i="$CTFI_INTERVAL" 'BEGIN { exit !(s < i) }'
ctfi_derive_never_down "$WORK"
ctfi_total_is_sum "$WORK" "$(csv_last_time "$WORK" ctflow-self/count-flows)"
echo "# flood: $(cat "$WORK/flood.out")"
echo "# reads: $(collectd_reads "$WORK"); events lost: $(csv_last "$WORK" ctflow-self/errors-events_lost || echo none);" \
  "dropped: $(csv_last "$WORK" ctflow-self/errors-events_dropped || echo none)"
ctfi_finish
