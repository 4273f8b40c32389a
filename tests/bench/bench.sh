# shellcheck shell=bash
# bench.sh: what the benchmark scripts share (sourced): the ctflow-bench
# binary, room in the conntrack table, and namespaces dropped cleanly.
#
#   bench_find           set $bench to ctflow-bench: $CTFLOW_BENCH, else
#                        the one `make bench` builds in $CTFLOW_BUILD
#                        (default: the current directory, a configured
#                        build tree)
#   bench_make_room N    raise nf_conntrack_max and nf_conntrack_buckets
#                        for a table of N entries
#   bench_restore        put back what bench_make_room changed (call it on
#                        exit)
#   bench_drop_namespace NS
#                        empty NS's table, then delete NS
#
# Outside the initial network namespace nf_conntrack_max is read-only:
# every namespace's table is limited by the initial namespace's
# net.netfilter.nf_conntrack_max. bench_make_room raises it, and
# nf_conntrack_buckets with it (the kernel's default is one bucket per
# allowed entry). Messages name the script ($BENCH_SCRIPT).

BENCH_SCRIPT=${BENCH_SCRIPT:-$(basename "$0")}
_bench_max=/proc/sys/net/netfilter/nf_conntrack_max
_bench_buckets=/proc/sys/net/netfilter/nf_conntrack_buckets
_bench_old_max=$(<"$_bench_max")
_bench_old_buckets=$(<"$_bench_buckets")
_bench_set_max=
_bench_set_buckets=

bench_find() {
  if [ -n "${CTFLOW_BENCH:-}" ]; then
    bench=$CTFLOW_BENCH
  else
    local build=${CTFLOW_BUILD:-$PWD}
    if [ ! -f "$build/Makefile" ]; then
      echo "$BENCH_SCRIPT: no build tree in $build: set CTFLOW_BUILD to a configured build directory or CTFLOW_BENCH to a built ctflow-bench" >&2
      return 1
    fi
    make -s -C "$build" bench >&2 || return
    bench=$build/tests/bench/ctflow-bench
  fi
  if [ ! -x "$bench" ]; then
    echo "$BENCH_SCRIPT: $bench is not an executable" >&2
    return 1
  fi
}

# Raises sysctl $1 to at least $2; prints the value it took, if it was
# raised: the kernel rounds nf_conntrack_buckets up to fill whole pages.
_bench_raise() {
  local old new
  old=$(<"$1")
  if [ "$old" -lt "$2" ]; then
    echo "$2" >"$1" || return
    new=$(<"$1")
    echo "$BENCH_SCRIPT: raised $1 from $old to $new" >&2
    echo "$new"
  fi
}

# The kernel's gc drops unassured entries above 95% of the limit: stay
# well below it.
bench_make_room() {
  local need=$(($1 + $1 / 4)) raised
  raised=$(_bench_raise "$_bench_max" "$need")
  if [ -n "$raised" ]; then _bench_set_max=$raised; fi
  raised=$(_bench_raise "$_bench_buckets" "$need")
  if [ -n "$raised" ]; then _bench_set_buckets=$raised; fi
}

# Puts sysctl $1 back to $3 if it still holds $2, the value this script
# set: a concurrent run may have changed it since, and that one is theirs.
_bench_put_back() {
  if [ -n "$2" ] && [ "$(<"$1")" = "$2" ]; then
    echo "$3" >"$1"
    echo "$BENCH_SCRIPT: restored $1 to $3" >&2
  fi
}

bench_restore() {
  _bench_put_back "$_bench_max" "$_bench_set_max" "$_bench_old_max"
  _bench_put_back "$_bench_buckets" "$_bench_set_buckets" "$_bench_old_buckets"
}

# Empties the table before deleting the namespace, so that the kernel frees
# its entries now, not in the background of the next measurement.
bench_drop_namespace() {
  ip netns exec "$1" conntrack -F >/dev/null 2>&1 || true
  ip netns del "$1"
}
