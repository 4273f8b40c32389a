# shellcheck shell=bash
# collectd.sh: run the real collectd with ctflow for the integration tests,
# and read back what its csv writer wrote.
#
# API (source this file):
#   collectd_conf DIR "PLUGIN..." CTFLOW_BODY
#       make DIR (a fresh, empty work dir) with a private plugin dir (a copy
#       of $CTFLOW_SO and of the stock plugins named, plus csv and logfile:
#       collectd refuses symlinks there) and DIR/collectd.conf: Interval
#       CTFI_INTERVAL (default 1), hostname CTFI_HOST, log to stdout, csv
#       into DIR/csv. PLUGIN... are further stock plugins to load with
#       their defaults (rrdtool writes into DIR/rrd). CTFLOW_BODY is the
#       text inside <Plugin ctflow>; "" loads ctflow without a block.
#   collectd_start DIR NS     start collectd -f in network namespace NS in
#                             the background (from this shell, not from a
#                             subshell: collectd_stop reaps it); its stdout
#                             and stderr go to DIR/collectd.log
#   collectd_running DIR      returns 0 while that collectd runs
#   collectd_stop DIR         SIGTERM, wait (at most 10 s, then SIGKILL);
#                             collectd's exit status goes to COLLECTD_STATUS
#                             and DIR/exit.status (call it from the shell
#                             that started collectd, not in $(...))
#   collectd_wait_lines DIR SERIES N [TIMEOUT]
#                             wait (default 15 s) until csv SERIES has at
#                             least N data lines; returns 1 on timeout or
#                             when collectd died
#   collectd_wait_reads DIR N [TIMEOUT]
#                             the same for ctflow-self/count-flows, the
#                             last series every ctflow read dispatches: N
#                             reads are complete and written
#   collectd_reads DIR        print the number of ctflow reads written
#
# A SERIES is "<plugin>[-<plugin instance>]/<type>[-<type instance>]", the
# csv writer's path under its host directory without the date, e.g.
# ctflow-192.168.77.11/if_octets or ctflow-kernel/conntrack-max.
#   csv_file DIR SERIES       print the newest file of SERIES (fails if none)
#   csv_has DIR SERIES        returns 0 when SERIES has a file
#   csv_lines DIR SERIES      print its number of data lines (0 if none)
#   csv_last DIR SERIES [N]   print the Nth value (default 1: the value, or
#                             rx) of its last line
#   csv_last_time DIR SERIES  print the epoch of its last line
#   csv_time_of DIR SERIES K  print the epoch of its Kth data line
#   csv_at DIR SERIES EPOCH [N]
#                             print the Nth value of the line written by the
#                             read at EPOCH: the line nearest to it, within
#                             0.3 s (collectd stamps each dispatch, so the
#                             series of one read differ by microseconds);
#                             fails when there is none
#   csv_has_series DIR INSTANCE "TYPE..."
#                             returns 0 when ctflow-INSTANCE/TYPE has a file
#                             for every TYPE; prints the missing ones
#   CTFI_HOST_SERIES          the 9 series of a host (README, "Series":
#                             types with their type instances), as the csv
#                             writer names them
#   csv_series DIR            print every SERIES written, one a line
#   csv_values DIR SERIES [N] print "EPOCH VALUE" of every data line, oldest
#                             first (VALUE: the Nth, default 1)
#   csv_decreases DIR SERIES  print "SERIES N EPOCH BEFORE AFTER" for every
#                             line where value N (any of them) went down
#                             from the line before; returns 1 when one did
#   csv_total_mismatches DIR TYPE [N]
#                             for every ctflow read (a line of
#                             ctflow-self/count-flows), compare value N
#                             (default 1) of ctflow-total/TYPE with the sum
#                             over the host buckets and other (a bucket
#                             without a line at that read counts its last
#                             value before it, 0 before its first: a
#                             forgotten host's or an old name's bytes stay
#                             in total); print
#                             "EPOCH TOTAL SUM" where they differ, return 1
#                             when some did; print the number of reads
#                             compared to stderr
#   graphite_escape TEXT      print TEXT as write_graphite writes it in a
#                             path: '.', white space, control characters
#                             and " \t\"\\:!,/()" each as its EscapeCharacter
#                             '_' (an IPv6 address's ':' too)
#
# Test reporting, TAP-like, shared by the integration tests:
#   ctfi_require TOOL...      exit 1 (never skip) unless root, CTFLOW_SO is a
#                             file and every TOOL is found
#   ctfi_cannot_run MESSAGE   say why the test cannot run, exit 1
#   ctfi_ok TEXT / ctfi_not_ok TEXT
#                             print "ok - TEXT" / "not ok - TEXT" and count it
#   ctfi_check TEXT CMD...    ok when CMD succeeds
#   ctfi_log_once DIR PATTERN SEVERITY WHAT
#                             two checks: collectd's log in DIR has exactly
#                             one line that matches grep PATTERN, and it is
#                             ctflow's at SEVERITY ("[SEVERITY] ctflow: ");
#                             WHAT says what the line is
#   ctfi_close TEXT CTFLOW TRUTH
#                             ok when CTFLOW is within 0.1% of TRUTH (the
#                             accuracy ctflow promises, README "Measured";
#                             equal when TRUTH is 0); prints both and
#                             the relative error
#   ctfi_job NAME CMD...      run CMD in the background as job NAME (a
#                             traffic exchange, say); its stdout is dropped
#   ctfi_wait_jobs TEXT [DONE]
#                             wait for every job; ok when all succeeded
#                             ("TEXT: all N DONE", DONE by default
#                             "exchanges completed")
#   ctfi_derive_never_down DIR
#                             one check: no DERIVE series (ctflow's
#                             counters) in the csv of DIR ever goes down;
#                             a not ok line for each one that does
#   ctfi_total_is_sum DIR [EPOCH]
#                             five checks, csv_total_mismatches of bytes
#                             and packets each way and of connections:
#                             ctflow-total is the sum of the host buckets
#                             and other at every read (the ok lines add
#                             total's value at the read at EPOCH if given)
#   ctfi_finish               print "N passed, N failed"; exit 0 only when
#                             none failed and some passed
#   ctfi_traps CLEANUP        run function CLEANUP on exit; a test that
#                             stops early (set -e) counts as failed and
#                             still prints its summary
#   ctfi_start_collectd DIR NS
#                             collectd_start, then wait for ctflow's first
#                             read; when none comes, fail the test with
#                             collectd's log
#   ctfi_traps_topology [FIRST]
#                             ctfi_traps with the cleanup of a test on the
#                             topology (topology.sh): run function FIRST
#                             when given (what else the test must undo),
#                             stop the collectd of $WORK, topo_down $PREFIX,
#                             remove $WORK (kept when CTFI_KEEP is set)
#
# Knobs: CTFLOW_SO (the plugin to test; required), CTFI_HOST (the hostname
# collectd reports, default ctfi), CTFI_INTERVAL (collectd's Interval in
# seconds, read by collectd_conf; default 1), COLLECTD (default
# /usr/sbin/collectd), COLLECTD_PLUGINS (stock plugins, default
# /usr/lib/collectd), COLLECTD_TYPESDB.

CTFI_HOST=${CTFI_HOST:-ctfi}
# shellcheck disable=SC2034 # read by the sourcing scripts
CTFI_HOST_SERIES="if_octets if_packets current_connections current_connections-tcp
  current_connections-udp current_connections-icmp current_connections-other
  total_connections count-peers"
COLLECTD=${COLLECTD:-/usr/sbin/collectd}
COLLECTD_PLUGINS=${COLLECTD_PLUGINS:-/usr/lib/collectd}
COLLECTD_TYPESDB=${COLLECTD_TYPESDB:-/usr/share/collectd/types.db}

collectd_conf() {
  local dir=$1 plugins=$2 body=$3 p
  if [[ -z ${CTFLOW_SO:-} || ! -f $CTFLOW_SO ]]; then
    echo "collectd_conf: CTFLOW_SO='${CTFLOW_SO:-}' is not a file" >&2
    return 1
  fi
  mkdir -p "$dir/plugins" "$dir/csv" || return 1
  cp "$CTFLOW_SO" "$dir/plugins/ctflow.so" || return 1
  for p in logfile csv $plugins; do
    cp "$COLLECTD_PLUGINS/$p.so" "$dir/plugins/" || return 1
  done
  {
    cat <<EOF
Hostname "$CTFI_HOST"
FQDNLookup false
Interval ${CTFI_INTERVAL:-1}
BaseDir "$dir"
PIDFile "$dir/collectd.pid"
PluginDir "$dir/plugins"
TypesDB "$COLLECTD_TYPESDB"

LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File stdout
  Timestamp true
  PrintSeverity true
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "$dir/csv"
  StoreRates false
</Plugin>
EOF
    for p in $plugins; do
      printf 'LoadPlugin %s\n' "$p"
      if [[ $p == rrdtool ]]; then
        printf '<Plugin rrdtool>\n  DataDir "%s/rrd"\n</Plugin>\n' "$dir"
      fi
    done
    printf 'LoadPlugin ctflow\n'
    if [[ -n $body ]]; then
      printf '<Plugin ctflow>\n%s\n</Plugin>\n' "$body"
    fi
  } >"$dir/collectd.conf"
}

collectd_start() {
  local dir=$1 ns=$2
  # ip netns exec execs collectd: $! is collectd's pid.
  ip netns exec "$ns" "$COLLECTD" -f -C "$dir/collectd.conf" \
    </dev/null >"$dir/collectd.log" 2>&1 &
  echo $! >"$dir/launch.pid"
}

collectd_running() {
  local pid
  pid=$(cat "$1/launch.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null
}

collectd_stop() {
  local dir=$1 pid i status=0
  pid=$(cat "$dir/launch.pid" 2>/dev/null) || return 1
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "collectd_stop: collectd $pid ignored SIGTERM for 10 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || status=$?
  rm -f "$dir/launch.pid"
  # shellcheck disable=SC2034 # read by the sourcing script
  COLLECTD_STATUS=$status
  echo "$status" >"$dir/exit.status"
}

# Prints the csv files of SERIES, oldest first (the writer starts a new
# file each day).
_csv_files() {
  local f
  for f in "$1/csv/$CTFI_HOST/$2"-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]; do
    [[ -f $f ]] && printf '%s\n' "$f"
  done
  return 0
}

csv_file() {
  local f
  f=$(_csv_files "$1" "$2" | tail -n 1)
  if [[ -z $f ]]; then
    echo "csv_file: no csv file for $2" >&2
    return 1
  fi
  printf '%s\n' "$f"
}

csv_has() {
  [[ -n $(_csv_files "$1" "$2") ]]
}

csv_lines() {
  local f n=0
  while read -r f; do
    n=$((n + $(grep -c '^[0-9]' "$f" || true)))
  done < <(_csv_files "$1" "$2")
  echo "$n"
}

csv_last() {
  local f
  f=$(csv_file "$1" "$2") || return 1
  awk -F, -v col=$((${3:-1} + 1)) '/^[0-9]/ { v = $col } END { if (v == "") exit 1; print v }' "$f"
}

csv_last_time() {
  csv_last "$1" "$2" 0
}

csv_time_of() {
  local files
  mapfile -t files < <(_csv_files "$1" "$2")
  ((${#files[@]} > 0)) || return 1
  awk -F, -v k="$3" '/^[0-9]/ && ++n == k { print $1; found = 1; exit }
    END { exit !found }' "${files[@]}"
}

csv_at() {
  local files
  mapfile -t files < <(_csv_files "$1" "$2")
  ((${#files[@]} > 0)) || return 1
  awk -F, -v t="$3" -v col=$((${4:-1} + 1)) '/^[0-9]/ {
      d = $1 - t; if (d < 0) d = -d
      if (d < 0.3 && (best == "" || d < best)) { best = d; v = $col } }
    END { if (best == "") exit 1; print v }' "${files[@]}"
}

csv_has_series() {
  local s missing=()
  for s in $3; do
    csv_has "$1" "ctflow-$2/$s" || missing+=("$s")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "# ctflow-$2 lacks: ${missing[*]}"
  return 1
}

csv_series() {
  local f
  for f in "$1/csv/$CTFI_HOST"/*/*-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]; do
    [[ -f $f ]] || continue
    f=${f#"$1/csv/$CTFI_HOST/"}
    printf '%s\n' "${f%-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]}"
  done | sort -u
}

csv_values() {
  local files
  mapfile -t files < <(_csv_files "$1" "$2")
  ((${#files[@]} > 0)) || return 1
  awk -F, -v col=$((${3:-1} + 1)) '/^[0-9]/ { print $1, $col }' "${files[@]}"
}

csv_decreases() {
  local files
  mapfile -t files < <(_csv_files "$1" "$2")
  ((${#files[@]} > 0)) || return 0
  awk -F, -v s="$2" '/^[0-9]/ {
      for (i = 2; i <= NF; i++) {
        if (n && $i + 0 < last[i] + 0) { print s, i - 1, $1, last[i], $i; bad = 1 }
        last[i] = $i
      }
      n++ }
    END { exit bad }' "${files[@]}"
}

csv_total_mismatches() {
  local dir=$1 type=$2 col=${3:-1} d bucket reads files=()
  reads=$(_csv_files "$dir" ctflow-self/count-flows)
  [[ -n $reads ]] || return 1
  for d in "$dir/csv/$CTFI_HOST"/ctflow-*; do
    bucket=${d##*/ctflow-}
    case $bucket in total | kernel | self | flows) continue ;; esac
    mapfile -t -O "${#files[@]}" files < <(_csv_files "$dir" "ctflow-$bucket/$type")
  done
  mapfile -t -O "${#files[@]}" files < <(_csv_files "$dir" "ctflow-total/$type")
  # shellcheck disable=SC2086 # one file name per line, no blanks in them
  awk -F, -v col=$((col + 1)) '
    FNR == 1 {
      role = "bucket"
      if (FILENAME ~ /\/ctflow-total\//) role = "total"
      if (FILENAME ~ /\/ctflow-self\/count-flows-/) role = "read"
    }
    !/^[0-9]/ { next }
    role == "read" { r[n++] = $1; next }
    {
      for (i = 0; i < n; i++) {
        d = $1 - r[i]
        if (d < 0) d = -d
        if (d < 0.3) break
      }
      if (i == n) next
      if (role == "total") { tot[i] = $col; have[i] = 1; next }
      b = FILENAME
      sub(/\/[^\/]*$/, "", b)
      buckets[b] = 1
      v[b, i] = $col
    }
    END {
      for (i = 0; i < n; i++) {
        for (b in buckets) {
          if ((b, i) in v) last[b] = v[b, i]
          sum[i] += last[b]
        }
        if (!have[i]) continue
        compared++
        if (tot[i] != sum[i] + 0) { printf "%s %s %s\n", r[i], tot[i], sum[i] + 0; bad = 1 }
      }
      print compared + 0 > "/dev/stderr"
      exit bad
    }' $reads "${files[@]}"
}

graphite_escape() {
  printf '%s' "$1" | tr '.[:space:][:cntrl:]"\\:!,/()' '_'
}

collectd_wait_lines() {
  local dir=$1 series=$2 n=$3 timeout=${4:-15} i
  for ((i = 0; i < timeout * 20; i++)); do
    (($(csv_lines "$dir" "$series") >= n)) && return 0
    collectd_running "$dir" || return 1
    sleep 0.05
  done
  return 1
}

collectd_wait_reads() {
  collectd_wait_lines "$1" ctflow-self/count-flows "$2" "${3:-15}"
}

collectd_reads() {
  csv_lines "$1" ctflow-self/count-flows
}

CTFI_PASSED=0
CTFI_FAILED=0

ctfi_cannot_run() {
  echo "not ok - cannot run: $*"
  echo "0 passed, 1 failed"
  exit 1
}

ctfi_require() {
  local tool
  [[ $(id -u) == 0 ]] || ctfi_cannot_run "needs root (network namespaces, conntrack)"
  if [[ -z ${CTFLOW_SO:-} || ! -f $CTFLOW_SO ]]; then
    ctfi_cannot_run "CTFLOW_SO='${CTFLOW_SO:-}' is not the built plugin" \
      "(e.g. CTFLOW_SO=build/plugin/.libs/ctflow.so)"
  fi
  for tool in "$COLLECTD" "$@"; do
    command -v "$tool" >/dev/null || ctfi_cannot_run "missing tool: $tool"
  done
  for tool in logfile csv; do
    [[ -f $COLLECTD_PLUGINS/$tool.so ]] ||
      ctfi_cannot_run "missing collectd plugin: $COLLECTD_PLUGINS/$tool.so"
  done
}

ctfi_ok() {
  CTFI_PASSED=$((CTFI_PASSED + 1))
  echo "ok - $*"
}

ctfi_not_ok() {
  CTFI_FAILED=$((CTFI_FAILED + 1))
  echo "not ok - $*"
}

ctfi_check() {
  local text=$1
  shift
  if "$@"; then ctfi_ok "$text"; else ctfi_not_ok "$text"; fi
}

ctfi_log_once() {
  local log=$1/collectd.log pattern=$2 severity=$3 what=$4 n line
  n=$(grep -c -- "$pattern" "$log" || true)
  line=$(grep -m1 -- "$pattern" "$log" || true)
  ctfi_check "$what: one line in the log (found $n)" test "$n" = 1
  ctfi_check "$what: that line is ctflow's $severity: ${line:-none}" \
    grep -qF "[$severity] ctflow: " <<<"$line"
}

ctfi_close() {
  local err
  if err=$(awk -v c="$2" -v t="$3" 'BEGIN {
      e = (t == 0) ? (c == 0 ? 0 : 1) : (c - t) / t
      if (e < 0) e = -e
      printf "%.4f%%", 100 * e
      exit !(c != "none" && e <= 0.001) }'); then
    ctfi_ok "$1: ctflow $2, nft $3, error $err"
  else
    ctfi_not_ok "$1: ctflow $2, nft $3, error $err (allowed: at most 0.1%)"
  fi
}

CTFI_JOB_PIDS=()
CTFI_JOB_NAMES=()
ctfi_job() {
  local name=$1
  shift
  (
    trap - ERR
    "$@" >/dev/null
  ) &
  CTFI_JOB_PIDS+=($!)
  CTFI_JOB_NAMES+=("$name")
}

ctfi_wait_jobs() {
  local i failed=()
  for i in "${!CTFI_JOB_PIDS[@]}"; do
    wait "${CTFI_JOB_PIDS[$i]}" || failed+=("${CTFI_JOB_NAMES[$i]}")
  done
  if ((${#failed[@]} == 0)); then
    ctfi_ok "$1: all ${#CTFI_JOB_PIDS[@]} ${2:-exchanges completed}"
  else
    ctfi_not_ok "$1: failed: ${failed[*]}"
  fi
  CTFI_JOB_PIDS=()
  CTFI_JOB_NAMES=()
}

ctfi_derive_never_down() {
  local dir=$1 series derive=0 decreased=0
  while read -r series; do
    case ${series#*/} in
    if_octets | if_packets | total_connections | derive-* | errors-*) ;;
    *) continue ;;
    esac
    derive=$((derive + 1))
    if ! csv_decreases "$dir" "$series" >"$dir/decreases"; then
      decreased=$((decreased + 1))
      ctfi_not_ok "$series goes down: $(head -3 "$dir/decreases" | tr '\n' ';')"
    fi
  done < <(csv_series "$dir")
  ctfi_check "no DERIVE series ever goes down ($derive series, $decreased went down)" \
    test "$derive" -gt 0 -a "$decreased" = 0
}

ctfi_total_is_sum() {
  local dir=$1 epoch=${2:-} t type col what bad last
  for t in "if_octets 1 received bytes" "if_octets 2 sent bytes" \
    "if_packets 1 received packets" "if_packets 2 sent packets" \
    "total_connections 1 connections"; do
    read -r type col what <<<"$t"
    if bad=$(csv_total_mismatches "$dir" "$type" "$col" 2>"$dir/compared"); then
      last=
      if [[ -n $epoch ]]; then
        last="; at the last $(csv_at "$dir" "ctflow-total/$type" "$epoch" "$col" || echo none)"
      fi
      ctfi_ok "ctflow-total $what == sum of hosts and other at every read ($(cat "$dir/compared") reads$last)"
    else
      ctfi_not_ok "ctflow-total $what != sum of hosts and other at: $(head -3 <<<"$bad" | tr '\n' ';')"
    fi
  done
}

ctfi_finish() {
  trap - ERR
  CTFI_FINISHED=1
  echo "$CTFI_PASSED passed, $CTFI_FAILED failed"
  ((CTFI_FAILED == 0 && CTFI_PASSED > 0))
}

ctfi_traps() {
  CTFI_CLEANUP=$1
  trap 'ctfi_not_ok "stopped by a failing command at line $LINENO: $BASH_COMMAND"' ERR
  trap _ctfi_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

ctfi_start_collectd() {
  collectd_start "$1" "$2"
  if ! collectd_wait_reads "$1" 1; then
    ctfi_not_ok "collectd did not complete a ctflow read; its log:"
    sed 's/^/# /' "$1/collectd.log"
    exit 1
  fi
}

# shellcheck disable=SC2120 # FIRST is optional
ctfi_traps_topology() {
  CTFI_CLEANUP_FIRST=${1:-}
  ctfi_traps _ctfi_cleanup_topology
}

_ctfi_cleanup_topology() {
  if [[ -n $CTFI_CLEANUP_FIRST ]]; then "$CTFI_CLEANUP_FIRST"; fi
  if collectd_running "$WORK"; then collectd_stop "$WORK"; fi
  topo_down "$PREFIX"
  if [[ -n ${CTFI_KEEP:-} ]]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
}

_ctfi_exit() {
  local status=$?
  trap - ERR
  "$CTFI_CLEANUP" || true
  if [[ -z ${CTFI_FINISHED:-} ]]; then
    ctfi_not_ok "the test stopped early (status $status)"
    echo "$CTFI_PASSED passed, $CTFI_FAILED failed"
    exit 1
  fi
}
