#!/bin/bash
# forget.sh: a host that stops talking, and whose entries have left the
# table, is forgotten after ForgetAfter reads: its series stop being
# dispatched while the others go on. When it talks again its series come
# back and go on from where they stopped (no counter goes down), and its
# bytes stayed in total all along.
# Needs root. Runs standalone with CTFLOW_SO=.../ctflow.so.
set -eEuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=${TESTS_DIR:-$here/..}
# shellcheck source=tests/lib/topology.sh
. "$TESTS_DIR/lib/topology.sh"
# shellcheck source=tests/lib/collectd.sh
. "$TESTS_DIR/lib/collectd.sh"

ctfi_require ip nft conntrack ping timeout awk "$TOPO_PYTHON"

PREFIX=ctfg-$$-
WORK=$(mktemp -d /tmp/ctfg-forget.XXXXXX)
ctfi_traps_topology

FORGET_AFTER=3
start=$SECONDS
H1=${TOPO_V4[h1]}
H2=${TOPO_V4[h2]}
W4=${TOPO_V4[wan]}
topo_up "$PREFIX"

collectd_conf "$WORK" "" "  LocalNetwork \"$TOPO_LAN4_NET\" \"$TOPO_LAN6_NET\"
  ForgetAfter $FORGET_AFTER"
ctfi_start_collectd "$WORK" "${PREFIX}router"

# Prints how many entries of the router's table h1 is part of.
h1_entries() {
  topo_exec "$PREFIX" router conntrack -L -s "$H1" 2>/dev/null | grep -c . || true
}

# Both hosts talk; h2 goes on talking while h1 falls silent.
ctfi_check "ICMP echo from h1 answered" topo_ping "$PREFIX" h1 "$W4" 3
ctfi_check "ICMP echo from h2 answered" topo_ping "$PREFIX" h2 "$W4" 3
ctfi_check "ctflow-$H1/if_octets is written" \
  collectd_wait_lines "$WORK" "ctflow-$H1/if_octets" 2
h1_before=$(csv_last "$WORK" "ctflow-$H1/if_octets" 2)

# h1's entries leave the table (as they would when their timeouts run out):
# its last bytes come from the DESTROY events.
deleted=$(date +%s.%N)
topo_exec "$PREFIX" router conntrack -D -s "$H1" >/dev/null 2>&1 || true
ctfi_check "the router's table has no entry of h1 left: $(h1_entries)" \
  test "$(h1_entries)" = 0
gone=$(collectd_reads "$WORK")

# Up to two reads may still see h1's tails (the read under way and the one
# after the events); then FORGET_AFTER idle reads; then one more to be sure
# the last dispatch is written. h2 keeps talking meanwhile.
want=$((gone + 2 + FORGET_AFTER + 1))
(
  trap - ERR
  topo_ping "$PREFIX" h2 "$W4" $((5 * (FORGET_AFTER + 4)))
) &
ping_pid=$!
ctfi_check "collectd went on for $((want - gone)) reads" \
  collectd_wait_reads "$WORK" "$want" 30
h1_lines=$(csv_lines "$WORK" "ctflow-$H1/if_octets")
collectd_wait_reads "$WORK" $((want + 3)) 15 || true
ctfi_check "h1 has no entry in the table still: $(h1_entries)" \
  test "$(h1_entries)" = 0
ctfi_check "ctflow-$H1/if_octets stopped: $h1_lines lines, then $(csv_lines "$WORK" "ctflow-$H1/if_octets") 3 reads later" \
  test "$(csv_lines "$WORK" "ctflow-$H1/if_octets")" = "$h1_lines"
# Reads that end after the deletion are idle for h1 (its pings were all
# counted before, so the events add nothing; a tail would make the first
# one busy: one line more): FORGET_AFTER - 1 of them dispatch it, the next
# forgets it. One line more when a read had ended but not yet dispatched
# at the deletion.
after=$(csv_values "$WORK" "ctflow-$H1/if_octets" |
  awk -v t="$deleted" '$1 > t { n++ } END { print n + 0 }')
ctfi_check "ctflow-$H1 was dispatched $after times after its entries left (want $((FORGET_AFTER - 1)) to $((FORGET_AFTER + 1)))" \
  test "$after" -ge $((FORGET_AFTER - 1)) -a "$after" -le $((FORGET_AFTER + 1))
last_h1=$(csv_last_time "$WORK" "ctflow-$H1/if_octets")
last_read=$(csv_last_time "$WORK" ctflow-self/count-flows)
ctfi_check "h1's last line ($last_h1) is over $FORGET_AFTER reads older than the last read ($last_read)" \
  awk -v a="$last_h1" -v b="$last_read" -v n="$FORGET_AFTER" 'BEGIN { exit !(b - a > n) }'
h2_last=$(csv_last_time "$WORK" "ctflow-$H2/if_octets")
ctfi_check "ctflow-$H2 is still dispatched ($h2_last, last read $last_read)" \
  awk -v a="$h2_last" -v b="$last_read" 'BEGIN { exit !(b - a < 0.5) }'
wait "$ping_pid" || ctfi_not_ok "h2's pings were not all answered"

# h1 comes back: its series go on from where they stopped.
ctfi_check "ICMP echo from h1 answered again" topo_ping "$PREFIX" h1 "$W4" 3
ctfi_check "ctflow-$H1/if_octets is written again" \
  collectd_wait_lines "$WORK" "ctflow-$H1/if_octets" $((h1_lines + 2))
h1_after=$(csv_last "$WORK" "ctflow-$H1/if_octets" 2)
ctfi_check "h1's tx bytes went on from $h1_before: $h1_after" \
  test "$h1_after" -gt "$h1_before"
collectd_stop "$WORK"
ctfi_check "collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
  test "$COLLECTD_STATUS" = 0
for series in "ctflow-$H1/if_octets" "ctflow-$H1/if_packets" ctflow-total/if_octets; do
  ctfi_check "no value of $series went down" csv_decreases "$WORK" "$series"
done

# Every byte is in exactly one series: at every read, total is the sum of
# every bucket's last value (a forgotten host's included).
for col in 1 2; do
  mismatches=$(csv_total_mismatches "$WORK" if_octets "$col" 2>"$WORK/compared") || true
  ctfi_check "ctflow-total/if_octets value $col is the sum of every bucket's last value at all $(cat "$WORK/compared") reads${mismatches:+: $mismatches}" \
    test -z "$mismatches"
done
echo "# runtime $((SECONDS - start)) s"
ctfi_finish
