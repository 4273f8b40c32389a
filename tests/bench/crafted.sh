#!/bin/bash
# crafted.sh: what a table crafted against ctflow's hash costs the real
# collectd (Debian's collectd-core with the csv writer and ctflow), next
# to a random table of the same size.
#
#   tests/bench/crafted.sh [ENTRIES]     (default 65536)
#
# Two namespaces, each with a collectd of its own reading it, side by side
# so that the machine's other load weighs on both alike: one holds ENTRIES
# IPv6 entries whose remote addresses collide in ctflow's peer set under a
# known key (ctflow-bench --load crafted: the low 18 bits of their hash
# under the key 00 01 .. 0f below 64), the other as many with random
# remote addresses. ctflow draws its own key when it starts, so the
# crafted table must read as fast as the random one. Prints each one's
# ctflow-self/duration-read (the median of READS reads after the first,
# default 10) and their ratio; exits 1 when the ratio is above 1.5, the
# bound ctflow keeps to (README, "Crafted input").
#
# Needs root. The plugin is $CTFLOW_SO, else the one in $CTFLOW_BUILD
# (default: the current directory, a configured build tree); ctflow-bench
# as run.sh finds it. Namespaces are named ctfc-PID-crafted and
# ctfc-PID-random.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=${TESTS_DIR:-$here/..}
# shellcheck source=tests/bench/bench.sh
. "$here/bench.sh"
# shellcheck source=tests/lib/collectd.sh
. "$TESTS_DIR/lib/collectd.sh"

die() {
  echo "crafted.sh: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] ||
  die "must run as root: it creates network namespaces and runs collectd in them"
entries=${1:-65536}
[[ $entries =~ ^[1-9][0-9]*$ ]] || die "not an entry count: $entries"
reads=${READS:-10}
[[ $reads =~ ^[1-9][0-9]*$ ]] || die "READS is not a count: $reads"
CTFLOW_SO=${CTFLOW_SO:-${CTFLOW_BUILD:-$PWD}/plugin/.libs/ctflow.so}
[ -f "$CTFLOW_SO" ] || die "no plugin at $CTFLOW_SO: set CTFLOW_SO or CTFLOW_BUILD"
export CTFLOW_SO
bench_find || exit 1

kinds=(crafted random)
work=$(mktemp -d /tmp/ctfc-crafted.XXXXXX)
made=()
cleanup() {
  local kind
  for kind in "${kinds[@]}"; do
    if [ -f "$work/$kind/launch.pid" ]; then collectd_stop "$work/$kind" || true; fi
  done
  for kind in "${made[@]}"; do
    bench_drop_namespace "ctfc-$$-$kind" || true
  done
  bench_restore
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_make_room "$entries"
for kind in "${kinds[@]}"; do
  ip netns add "ctfc-$$-$kind"
  made+=("$kind")
  ip netns exec "ctfc-$$-$kind" "$bench" --load "$kind" "$entries" ||
    die "loading the $kind table failed"
  collectd_conf "$work/$kind" "" ""
done
echo "== $entries IPv6 entries each, ctflow's defaults, Interval ${CTFI_INTERVAL:-1}"
for kind in "${kinds[@]}"; do
  collectd_start "$work/$kind" "ctfc-$$-$kind"
done
for kind in "${kinds[@]}"; do
  collectd_wait_reads "$work/$kind" $((reads + 1)) $((10 * reads + 30)) ||
    die "collectd did not make $((reads + 1)) reads of the $kind table; its log: $(cat "$work/$kind/collectd.log")"
done
for kind in "${kinds[@]}"; do
  collectd_stop "$work/$kind"
done

# Prints the median duration of reads 2 to READS + 1 of $1's collectd.
median_read() {
  csv_values "$work/$1" ctflow-self/duration-read | sed -n "2,$((reads + 1))p" |
    awk '{ print $2 }' | sort -g |
    awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

crafted=$(median_read crafted)
random=$(median_read random)
for kind in "${kinds[@]}"; do
  printf '%-8s ctflow-self/duration-read %.4f s (median of %d reads after the first; all: %s)\n' \
    "$kind" "$(median_read "$kind")" "$reads" \
    "$(csv_values "$work/$kind" ctflow-self/duration-read | awk 'NR > 1 { printf "%.3f ", $2 }')"
done
awk -v c="$crafted" -v r="$random" 'BEGIN {
  printf "crafted/random %.2f (goal: at most 1.5)\n", c / r
  exit c / r > 1.5
}'
