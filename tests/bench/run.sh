#!/bin/bash
# run.sh: ctflow's benchmark (ctflow-bench.c), each measurement in a fresh
# network namespace: the dump benchmark at each table size, so that its
# table holds exactly N entries, then the event benchmark (entries ending
# at rising rates).
#
#   tests/bench/run.sh                     both, with their defaults
#   tests/bench/run.sh --dump [N ...]      the dump benchmark only
#                                          (default: 100000 1000000)
#   tests/bench/run.sh --events [RATE ...] the event benchmark only (default:
#                                          10000 25000 50000 100000 200000 max)
#   tests/bench/run.sh N ...               as --dump N ...
#
# --dump and --events can be given together, each with its own list.
# The binary is $CTFLOW_BENCH, else the one `make bench` builds in
# $CTFLOW_BUILD (default: the current directory, a configured build tree).
# ROUNDS (default 5) sets how often each dump measurement is taken.
# Namespaces are named $CTFLOW_NETNS_PREFIX-PID-... (default ctfb).
#
# Outside the initial network namespace nf_conntrack_max is read-only:
# every namespace's table is limited by the initial namespace's
# net.netfilter.nf_conntrack_max. This script raises it, and
# nf_conntrack_buckets with it (the kernel's default is one bucket per
# allowed entry), and puts back what it changed when it ends.
set -euo pipefail

die() {
  echo "run.sh: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] ||
  die "must run as root: it creates network namespaces and raises net.netfilter.nf_conntrack_max"

sizes=()
rates=()
dump=
events=
list=sizes
for arg in "$@"; do
  case $arg in
  --dump) dump=1 list=sizes ;;
  --events) events=1 list=rates ;;
  *)
    if [ $list = sizes ]; then
      [[ $arg =~ ^[1-9][0-9]*$ ]] || die "not an entry count: $arg"
      dump=1
      sizes+=("$arg")
    else
      [[ $arg =~ ^([1-9][0-9]*|max)$ ]] || die "not a rate: $arg"
      rates+=("$arg")
    fi
    ;;
  esac
done
if [ -z "$dump" ] && [ -z "$events" ]; then
  dump=1 events=1
fi
if [ -n "$dump" ] && [ ${#sizes[@]} -eq 0 ]; then sizes=(100000 1000000); fi
prefix=${CTFLOW_NETNS_PREFIX:-ctfb}

if [ -n "${CTFLOW_BENCH:-}" ]; then
  bench=$CTFLOW_BENCH
else
  build=${CTFLOW_BUILD:-$PWD}
  [ -f "$build/Makefile" ] ||
    die "no build tree in $build: set CTFLOW_BUILD to a configured build directory or CTFLOW_BENCH to a built ctflow-bench"
  make -s -C "$build" bench >&2
  bench=$build/tests/bench/ctflow-bench
fi
[ -x "$bench" ] || die "$bench is not an executable"
if [ -n "$dump" ]; then
  command -v conntrack >/dev/null ||
    die "conntrack (conntrack-tools) is needed: the benchmark compares against conntrack -L"
fi

max_sysctl=/proc/sys/net/netfilter/nf_conntrack_max
buckets_sysctl=/proc/sys/net/netfilter/nf_conntrack_buckets
old_max=$(<"$max_sysctl")
old_buckets=$(<"$buckets_sysctl")
set_max=
set_buckets=
ns=

# Puts sysctl $1 back to $3 if it still holds $2, the value this script
# set: a concurrent run may have changed it since, and that one is theirs.
restore() {
  if [ -n "$2" ] && [ "$(<"$1")" = "$2" ]; then
    echo "$3" >"$1"
    echo "run.sh: restored $1 to $3" >&2
  fi
}

# Empties the namespace's table before deleting it, so that the kernel
# frees its entries now, not in the background of the next measurement.
drop_namespace() {
  ip netns exec "$ns" conntrack -F >/dev/null 2>&1 || true
  ip netns del "$ns"
  ns=
}

cleanup() {
  if [ -n "$ns" ]; then
    drop_namespace || true
  fi
  restore "$max_sysctl" "$set_max" "$old_max"
  restore "$buckets_sysctl" "$set_buckets" "$old_buckets"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Raises sysctl $1 to at least $2; prints the value it took, if it was
# raised: the kernel rounds nf_conntrack_buckets up to fill whole pages.
raise() {
  local old new
  old=$(<"$1")
  if [ "$old" -lt "$2" ]; then
    echo "$2" >"$1" || return
    new=$(<"$1")
    echo "run.sh: raised $1 from $old to $new" >&2
    echo "$new"
  fi
}

# Prints the seconds since $1, an $EPOCHREALTIME.
since() {
  awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }'
}

for n in "${sizes[@]}"; do
  start=$EPOCHREALTIME
  # The kernel's gc drops unassured entries above 95% of the limit; stay
  # well below it.
  need=$((n + n / 4))
  raised=$(raise "$max_sysctl" "$need")
  if [ -n "$raised" ]; then set_max=$raised; fi
  raised=$(raise "$buckets_sysctl" "$need")
  if [ -n "$raised" ]; then set_buckets=$raised; fi

  ip netns add "$prefix-$$-$n"
  ns=$prefix-$$-$n
  echo "== $n entries (namespace $ns)"
  ip netns exec "$ns" "$bench" "$n" ${ROUNDS:+"$ROUNDS"}
  drop_namespace
  echo "end to end $(since "$start") s"
done

if [ -n "$events" ]; then
  start=$EPOCHREALTIME
  ip netns add "$prefix-$$-events"
  ns=$prefix-$$-events
  echo "== ending entries (namespace $ns)"
  ip netns exec "$ns" "$bench" --events "${rates[@]}"
  drop_namespace
  echo "end to end $(since "$start") s"
fi
