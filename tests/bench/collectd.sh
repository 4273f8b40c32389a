#!/bin/bash
# collectd.sh: what ctflow costs the real collectd, as a user sees it
# (Debian's collectd-core with ctflow and its csv writer; then with the
# rrdtool writer too, as most sites run it), set beside the kernel's own
# cost of the same table.
#
#   tests/bench/collectd.sh [ENTRIES ...]   (default 16384 100000 1000000)
#
# For each table size and each number of local hosts (HOSTS, default
# "64 4096": 64 shows ctflow's own cost, 4,096 what a big site pays for
# its series), in a fresh network namespace filled with the dump
# benchmark's synthetic office (ctflow-bench --load office ENTRIES HOSTS),
# REPS times (default 3), each writer configuration in turn (WRITERS,
# default "csv csv+rrdtool"; CTFLOW_OPTIONS, ctflow's options one a line,
# e.g. 'HostSeries "traffic"'), it runs
# collectd reading the whole table every CTFI_INTERVAL seconds (default
# 10, Debian's) and measures:
#
#   - ctflow-self/duration-read, the first read's and the median of READS
#     steady reads (default 5; the second read is left out as a warm-up);
#   - the whole collectd process's CPU time per interval over those READS
#     intervals, taken from its CPU-time clock just before a read begins,
#     so that each interval holds one read and what the writers made of
#     it; and over the first interval (start-up, the first read, its
#     writes);
#   - collectd's VmRSS and VmHWM after those reads;
#   - a bare dump of the same table (ctflow-bench --bare-dump: receive and
#     discard, the kernel's own cost and the floor under any reader), in
#     wall and CPU time, once in the middle of each of those intervals, so
#     that the read and the dump meet the same load.
#
# An identical collectd over an empty namespace (the baseline, measured
# first, the same REPS and configurations) gives collectd's memory and its
# own work per interval, subtracted from every figure ("full minus
# empty"). Its own work is its CPU time less the bare dump of the empty
# namespace: the kernel keeps one hash table for the entries of every
# namespace, and any dump walks all its buckets, the full namespace's
# bare dump as much as the full collectd's read. The baseline runs before
# any table is loaded: an empty namespace's dump beside a million
# entries elsewhere would walk them too.
#
# Each collectd keeps its data directory (csv files, rrd files) from one
# run to the next, as a router restarting collectd does; a first run that
# is not measured creates them (and prints what that costs: 36,864 rrd
# files for 4,096 hosts). It prints, as markdown:
#
#   | table | local hosts | writers | duration-read / dump |
#     collectd CPU per read / dump | RSS per entry | first read / steady |
#
# each figure the median over REPS with its spread (lowest - highest),
# then the absolute figures, what each host costs (the 4,096-host runs
# against the 64-host runs of the same table, per host and per value list
# dispatched), and a profile per table, hosts and writers: `perf record -e
# cpu-clock -g` of the collectd over PROFILE_READS more intervals (default
# 3; 0: none), its samples by thread and by whose code, and its top
# symbols. Everything also goes to BENCH_OUT (default collectd-bench in
# the build tree): the tables (summary.md, which collectd-summary.awk
# makes from runs.tsv, one line per run) and the full profiles
# (profile-*.txt).
#
# Needs root; installs collectd-core, rrdtool and linux-perf if missing.
# The plugin is $CTFLOW_SO, else the one in $CTFLOW_BUILD (default: the
# current directory, a configured build tree); ctflow-bench as run.sh
# finds it. nf_conntrack_max and nf_conntrack_buckets are raised as the
# tables need (bench.sh) and put back at the end. Namespaces are named
# ctfd-PID-...; the work directory (up to 7 GB of rrd files at 4,096
# hosts) is removed at the end unless CTFI_KEEP is set.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=${TESTS_DIR:-$here/..}
# shellcheck source=tests/bench/bench.sh
. "$here/bench.sh"
# shellcheck source=tests/lib/collectd.sh
. "$TESTS_DIR/lib/collectd.sh"
# shellcheck source=tests/lib/deps.sh
. "$TESTS_DIR/lib/deps.sh"

die() {
  echo "collectd.sh: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] ||
  die "must run as root: it creates network namespaces and runs collectd in them"
whole_number() {
  [[ $2 =~ ^[0-9]+$ ]] || die "$1 is not a whole number: $2"
}
sizes=("$@")
if [ ${#sizes[@]} -eq 0 ]; then sizes=(16384 100000 1000000); fi
for n in "${sizes[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "not an entry count: $n"
done
read -r -a host_counts <<<"${HOSTS:-64 4096}"
for h in "${host_counts[@]}"; do
  [[ $h =~ ^[1-9][0-9]*$ ]] || die "HOSTS: not a number of hosts: $h"
done
# ctflow's options besides its defaults, one a line (e.g. HostSeries).
options=${CTFLOW_OPTIONS:-}
reps=${REPS:-3}
reads=${READS:-5}
profile_reads=${PROFILE_READS:-3}
interval=${CTFI_INTERVAL:-10}
whole_number REPS "$reps"
whole_number READS "$reads"
whole_number PROFILE_READS "$profile_reads"
whole_number CTFI_INTERVAL "$interval"
((reps >= 1 && reads >= 1 && interval >= 1)) ||
  die "REPS, READS and CTFI_INTERVAL must be at least 1"
CTFI_INTERVAL=$interval

ctflow_install_deps rrdtool linux-perf
CTFLOW_SO=${CTFLOW_SO:-${CTFLOW_BUILD:-$PWD}/plugin/.libs/ctflow.so}
[ -f "$CTFLOW_SO" ] || die "no plugin at $CTFLOW_SO: set CTFLOW_SO or CTFLOW_BUILD"
export CTFLOW_SO
bench_find || exit 1
out=${BENCH_OUT:-${CTFLOW_BUILD:-$PWD}/collectd-bench}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The writer configurations: a name, and the stock plugins collectd_conf
# loads besides csv.
declare -A writer_plugins=([csv]="" [csv+rrdtool]=rrdtool)
read -r -a writers <<<"${WRITERS:-csv csv+rrdtool}"
for w in "${writers[@]}"; do
  [ -n "${writer_plugins[$w]+set}" ] || die "WRITERS: not csv or csv+rrdtool: $w"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ctfd-collectd.XXXXXX")
# A host's nine series take about 1.6 MiB of rrd files (rrdtool's default
# archives: some 12,000 rows of each of AVERAGE, MIN and MAX per value).
need_mib=0
for h in "${host_counts[@]}"; do need_mib=$((need_mib + h * 16 / 10)); done
free_mib=$(df -Pm "$work" | awk 'NR == 2 { print $4 }')
((free_mib > need_mib + 1024)) ||
  die "$work has $free_mib MiB free; the rrd files need about $need_mib MiB"

running=
perf_pid=
namespaces=()
cleanup() {
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || true; fi
  if [ -n "$running" ]; then collectd_stop "$running" || true; fi
  for ns in "${namespaces[@]}"; do bench_drop_namespace "$ns" || true; done
  bench_restore
  if [ -n "${CTFI_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

new_namespace() {
  ip netns add "ctfd-$$-$1"
  namespaces+=("ctfd-$$-$1")
}

drop_namespace() {
  bench_drop_namespace "ctfd-$$-$1"
  local kept=() ns
  for ns in "${namespaces[@]}"; do
    [ "$ns" = "ctfd-$$-$1" ] || kept+=("$ns")
  done
  namespaces=("${kept[@]}")
}

# Prints the epoch $2 seconds after read $1 of the collectd launched at
# $launch begins: collectd makes its first read as it starts and the next
# ones every interval after it.
read_begins() {
  awk -v l="$launch" -v n="$1" -v d="$2" -v i="$interval" \
    'BEGIN { printf "%.3f", l + (n - 1) * i + d }'
}

sleep_until() {
  local s
  s=$(awk -v t="$1" -v now="$EPOCHREALTIME" 'BEGIN { d = t - now; printf "%.3f", (d > 0 ? d : 0) }')
  sleep "$s"
}

status_kib() {
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# Prints the values of series $2 of the collectd in $1 dispatched since
# epoch $3, oldest first, one a line.
values_since() {
  csv_values "$1" "$2" | awk -v t="$3" '$1 >= t { print $2 }'
}

# Prints "MEDIAN LOWEST HIGHEST" of the numbers on stdin.
spread() {
  sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) { print "nan nan nan"; exit }
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      print m, v[1], v[NR] }'
}

# Creates the data directory of the collectd in $1 reading namespace $2
# with a first run that is not measured: the csv and rrd files of every
# series, as on a router that has run collectd before. Waits for three
# reads to be written (the rrdtool writer creates its files in the write
# threads, so the csv lines lag behind while it does). Prints what that
# took.
prepare() {
  local dir=$1 ns=$2 before start pid cpu
  before=$(collectd_reads "$dir")
  start=$EPOCHREALTIME
  collectd_start "$dir" "$ns"
  running=$dir
  pid=$(<"$dir/launch.pid")
  collectd_wait_reads "$dir" $((before + 3)) 900 ||
    die "collectd made no 3 reads of $ns in 900 s; its log: $(tail -5 "$dir/collectd.log")"
  cpu=$("$bench" --cpu "$pid")
  collectd_stop "$dir"
  running=
  printf '   prepared %s: %s files, %s MiB, 3 reads written after %.0f s, CPU %.1f s\n' \
    "${dir##*/}" "$(find "$dir/csv" "$dir/rrd" -type f 2>/dev/null | wc -l)" \
    "$(du -smc "$dir/csv" "$dir/rrd" 2>/dev/null | awk 'END { print $1 }')" \
    "$(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { print e - s }')" "$cpu"
}

# Records perf samples of process $1 into $2 until killed with SIGINT.
start_profile() {
  perf record -q -e cpu-clock -F 4999 -g -p "$1" -o "$2" >/dev/null 2>&1 &
  perf_pid=$!
}

stop_profile() {
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  perf_pid=
}

# Writes the report of perf data $1 to $2 (collectd's plugins must still
# be where it loaded them from), and prints its summary: the samples by
# thread and, in collectd's read threads, by whose code they are in
# (ctflow, the kernel's dump, the rest of the kernel, collectd, libc), and
# the top symbols.
report_profile() {
  local data=$1 file=$2
  {
    echo "# perf report --no-children --sort dso,sym -g none"
    perf report -i "$data" --stdio --no-children --sort dso,sym -g none \
      2>/dev/null | grep -v '^$'
    echo
    echo "# perf report --children --sort sym (callers' shares, call graphs)"
    perf report -i "$data" --stdio --children --sort sym --percent-limit 2 \
      2>/dev/null | grep -v '^$'
  } >"$file"
  # A sample is a line "COMM" and its call chain, a line "ADDRESS SYMBOL
  # (DSO)" per frame, innermost first.
  perf script -i "$data" -F comm,ip,sym,dso 2>/dev/null | awk '
    function flush(   who) {
      if (comm == "") return
      n++
      if (comm ~ /^reader#/) {
        if (leaf ~ /ctflow\.so/) who = 1
        else if (leaf ~ /kernel/ && dump) who = 2
        else if (leaf ~ /kernel/) who = 3
        else if (leaf ~ /\/collectd\)/) who = 4
        else if (leaf ~ /libc\.so/) who = 5
        else who = 6
        reader[who]++
      } else if (comm ~ /^writer#/) writer++
      else if (comm ~ /^rrdtool/) rrd++
      else others++
      comm = ""
    }
    /^[^ \t]/ { flush(); comm = $1; leaf = ""; dump = 0; next }
    /^[ \t]+[0-9a-f]+ / {
      if (leaf == "") leaf = $NF
      if ($2 ~ /^(netlink_recvmsg|netlink_dump|ctnetlink_dump_table)/) dump = 1
      next
    }
    /^$/ { flush() }
    END {
      flush()
      if (n == 0) { print "   no samples"; exit }
      split("ctflow|the kernel'"'"'s dump|the rest of the kernel|collectd|libc|other", name, "|")
      printf "   %d samples: read threads %.1f%% (", n, 100 * (n - writer - rrd - others) / n
      for (w = 1; w <= 6; w++) printf "%s%s %.1f%%", (w > 1 ? ", " : ""), name[w], 100 * reader[w] / n
      printf "), write threads %.1f%%, rrdtool queue %.1f%%, other threads %.1f%%\n",
        100 * writer / n, 100 * rrd / n, 100 * others / n
    }'
  echo "   top symbols ($file):"
  perf report -i "$data" --stdio --no-children --sort dso,sym -g none \
    2>/dev/null | awk '/^ +[0-9.]+%/ && ++k <= 15 { sub(/^ */, "     "); print }'
}

# Measures the collectd in $1 reading namespace $2 once; appends a line
# to $out/runs.tsv under the label $3 (ENTRIES HOSTS WRITERS REP); with
# $4 set, records a profile into $4 after the measured reads.
measure() {
  local dir=$1 ns=$2 label=$3 profile=${4:-} before pid k
  local cpu_first cpu_a cpu_b rss hwm written rrd_last dumps=$work/dumps
  before=$(collectd_reads "$dir")
  : >"$dumps"
  launch=$EPOCHREALTIME
  collectd_start "$dir" "$ns"
  running=$dir
  pid=$(<"$dir/launch.pid")
  sleep_until "$(read_begins 2 -0.5)"
  collectd_running "$dir" || die "collectd stopped; its log: $(tail -5 "$dir/collectd.log")"
  cpu_first=$("$bench" --cpu "$pid")
  # Read 2 is a warm-up; reads 3 to reads + 2 are measured.
  sleep_until "$(read_begins 3 -0.5)"
  cpu_a=$("$bench" --cpu "$pid")
  for ((k = 3; k < reads + 3; k++)); do
    sleep_until "$(read_begins "$k" "$(awk -v i="$interval" 'BEGIN { print 0.55 * i }')")"
    ip netns exec "$ns" "$bench" --bare-dump >>"$dumps"
  done
  sleep_until "$(read_begins $((reads + 3)) -0.5)"
  cpu_b=$("$bench" --cpu "$pid")
  rss=$(status_kib "$pid" VmRSS)
  hwm=$(status_kib "$pid" VmHWM)
  written=$(($(collectd_reads "$dir") - before))
  rrd_last=
  if [ -f "$dir/rrd/$CTFI_HOST/ctflow-self/count-flows.rrd" ]; then
    rrd_last=$(rrdtool last "$dir/rrd/$CTFI_HOST/ctflow-self/count-flows.rrd")
  fi
  if [ -n "$profile" ] && ((profile_reads > 0)); then
    start_profile "$pid" "$profile"
    sleep_until "$(read_begins $((reads + 3 + profile_reads)) -0.5)"
    stop_profile
  fi
  collectd_wait_reads "$dir" $((before + reads + 2)) $((3 * interval)) ||
    die "collectd did not write its reads; its log: $(tail -5 "$dir/collectd.log")"
  collectd_stop "$dir"
  running=
  local durations first dur flows no_room rrd_behind=0
  durations=$(values_since "$dir" ctflow-self/duration-read "$launch")
  first=$(head -n 1 <<<"$durations")
  dur=$(sed -n "3,$((reads + 2))p" <<<"$durations" | spread)
  flows=$(csv_last "$dir" ctflow-self/count-flows)
  no_room=$(csv_last "$dir" ctflow-self/errors-hosts_no_room)
  if [ -n "$rrd_last" ]; then
    # The measured reads not yet in the rrd files when they ended: the
    # rrdtool writer's queue falling behind.
    rrd_behind=$(csv_values "$dir" ctflow-self/count-flows |
      awk -v l="$launch" -v r="$rrd_last" -v n=$((reads + 2)) \
        '$1 >= l && ++k <= n && $1 > r + 1 { b++ } END { print b + 0 }')
  fi
  # label, first duration, steady duration (median lowest highest), dump
  # wall and CPU (median lowest highest each), CPU of the first interval
  # and per steady interval, VmRSS, VmHWM, reads behind at the end, flows,
  # hosts refused
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$first" \
    "$dur" "$(awk '{ print $1 }' "$dumps" | spread)" \
    "$(awk '{ print $2 }' "$dumps" | spread)" "$cpu_first" \
    "$(awk -v a="$cpu_a" -v b="$cpu_b" -v k="$reads" 'BEGIN { printf "%.6f", (b - a) / k }')" \
    "$rss" "$hwm" "$((reads + 2 - written > rrd_behind ? reads + 2 - written : rrd_behind))" \
    "$flows" "$no_room" | tee -a "$out/runs.tsv" | awk -F'\t' '{
      split($3, d, " "); split($4, w, " "); split($5, c, " ")
      printf "   %s: duration-read %.4f s (%.4f-%.4f), first %.4f s; bare dump %.4f s (%.4f-%.4f), CPU %.4f s (%.4f-%.4f)\n",
        $1, d[1], d[2], d[3], $2, w[1], w[2], w[3], c[1], c[2], c[3]
      printf "      collectd CPU: first interval %.4f s, per interval %.4f s; VmRSS %d KiB, VmHWM %d KiB; writers behind %d reads; flows %d, hosts refused %d\n",
        $6, $7, $8, $9, $10, $11, $12 }'
}

: >"$out/runs.tsv"
echo "== collectd $("$COLLECTD" -h | awk '/^collectd [0-9]/ { print $2 }'), Interval $interval s, $reads measured reads per run, $reps repetitions; results in $out"

# The baseline: the same collectd over an empty namespace.
new_namespace empty
for w in "${writers[@]}"; do
  collectd_conf "$work/empty-$w" "${writer_plugins[$w]}" "$options"
  prepare "$work/empty-$w" "ctfd-$$-empty"
done
for ((r = 1; r <= reps; r++)); do
  for w in "${writers[@]}"; do
    collectd_conf "$work/empty-$w" "${writer_plugins[$w]}" "$options"
    measure "$work/empty-$w" "ctfd-$$-empty" "0 0 $w $r"
  done
done
drop_namespace empty

for n in "${sizes[@]}"; do
  bench_make_room "$n"
  for h in "${host_counts[@]}"; do
    echo "== $n entries, $h local hosts"
    new_namespace "$n-$h"
    start=$EPOCHREALTIME
    ip netns exec "ctfd-$$-$n-$h" "$bench" --load office "$n" "$h" ||
      die "loading $n entries failed"
    printf '   loaded in %.1f s\n' "$(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { print e - s }')"
    for w in "${writers[@]}"; do
      collectd_conf "$work/full-$h-$w" "${writer_plugins[$w]}" "$options"
      if [ ! -d "$work/full-$h-$w/csv/$CTFI_HOST" ]; then
        prepare "$work/full-$h-$w" "ctfd-$$-$n-$h"
      fi
    done
    for ((r = 1; r <= reps; r++)); do
      for w in "${writers[@]}"; do
        collectd_conf "$work/full-$h-$w" "${writer_plugins[$w]}" "$options"
        profile=
        if ((r == 1)); then profile=$work/perf-$n-$h-$w.data; fi
        measure "$work/full-$h-$w" "ctfd-$$-$n-$h" "$n $h $w $r" "$profile"
        if [ -n "$profile" ] && ((profile_reads > 0)); then
          echo "   profile of $n entries, $h hosts, $w ($profile_reads reads):"
          report_profile "$profile" "$out/profile-$n-$h-$w.txt"
          rm -f "$profile"
        fi
      done
    done
    drop_namespace "$n-$h"
  done
done

awk -f "$here/collectd-summary.awk" "$out/runs.tsv" | tee "$out/summary.md"
echo "(medians over $reps repetitions, spread lowest-highest; $reads reads each, Interval $interval s; in $out)"
