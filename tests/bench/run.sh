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
#   tests/bench/run.sh --crafted [N ...]   crafted entries against random
#                                          ones (default: 16384 32768 65536),
#                                          all sizes in one namespace
#   tests/bench/run.sh N ...               as --dump N ...
#
# --dump, --events and --crafted can be given together, each with its own
# list; with none of them, --dump and --events run.
# The binary is $CTFLOW_BENCH, else the one `make bench` builds in
# $CTFLOW_BUILD (default: the current directory, a configured build tree).
# ROUNDS (default 5) sets how often each dump measurement is taken.
# Namespaces are named $CTFLOW_NETNS_PREFIX-PID-... (default ctfb).
# nf_conntrack_max and nf_conntrack_buckets are raised as the tables need
# (bench.sh) and put back when the script ends.
set -euo pipefail

die() {
  echo "run.sh: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] ||
  die "must run as root: it creates network namespaces and raises net.netfilter.nf_conntrack_max"

sizes=()
rates=()
crafts=()
dump=
events=
crafted=
list=sizes
for arg in "$@"; do
  case $arg in
  --dump) dump=1 list=sizes ;;
  --events) events=1 list=rates ;;
  --crafted) crafted=1 list=crafts ;;
  *)
    if [ $list = sizes ]; then
      [[ $arg =~ ^[1-9][0-9]*$ ]] || die "not an entry count: $arg"
      dump=1
      sizes+=("$arg")
    elif [ $list = crafts ]; then
      [[ $arg =~ ^[1-9][0-9]*$ ]] || die "not an entry count: $arg"
      crafts+=("$arg")
    else
      [[ $arg =~ ^([1-9][0-9]*|max)$ ]] || die "not a rate: $arg"
      rates+=("$arg")
    fi
    ;;
  esac
done
if [ -z "$dump" ] && [ -z "$events" ] && [ -z "$crafted" ]; then
  dump=1 events=1
fi
if [ -n "$dump" ] && [ ${#sizes[@]} -eq 0 ]; then sizes=(100000 1000000); fi
if [ -n "$crafted" ] && [ ${#crafts[@]} -eq 0 ]; then
  crafts=(16384 32768 65536)
fi
prefix=${CTFLOW_NETNS_PREFIX:-ctfb}

# shellcheck source=tests/bench/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench.sh"
bench_find || exit 1
if [ -n "$dump" ]; then
  command -v conntrack >/dev/null ||
    die "conntrack (conntrack-tools) is needed: the benchmark compares against conntrack -L"
fi

ns=
drop_namespace() {
  bench_drop_namespace "$ns"
  ns=
}

cleanup() {
  if [ -n "$ns" ]; then
    drop_namespace || true
  fi
  bench_restore
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Prints the seconds since $1, an $EPOCHREALTIME.
since() {
  awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }'
}

# Runs ctflow-bench with the arguments from $3 on in a fresh namespace
# named after $1, under the heading $2; prints how long it all took.
in_namespace() {
  local start=$EPOCHREALTIME
  ip netns add "$prefix-$$-$1"
  ns=$prefix-$$-$1
  echo "== $2 (namespace $ns)"
  ip netns exec "$ns" "$bench" "${@:3}"
  drop_namespace
  echo "end to end $(since "$start") s"
}

for n in "${sizes[@]}"; do
  bench_make_room "$n"
  in_namespace "$n" "$n entries" "$n" ${ROUNDS:+"$ROUNDS"}
done

if [ -n "$events" ]; then
  in_namespace events "ending entries" --events "${rates[@]}"
fi

if [ -n "$crafted" ]; then
  most=0
  for n in "${crafts[@]}"; do
    if [ "$n" -gt "$most" ]; then most=$n; fi
  done
  bench_make_room "$most"
  in_namespace crafted "crafted entries" --crafted "${crafts[@]}"
fi
