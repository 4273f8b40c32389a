#!/bin/bash
# bad_option.sh: a bad value in <Plugin ctflow> (README, "Options")
# makes ctflow log one clear error naming the option and the value and
# refuse to start, while collectd and its other plugins keep running. A
# NetNamespace that does not exist, or is no network namespace, is refused
# likewise when ctflow starts (the namespace may be made after collectd
# reads its configuration).
# Each case runs its own collectd (ctflow, load, csv), all at once; a
# control case with a good configuration shows that ctflow does write
# series when it starts, so "no ctflow series" means something.
# Needs root. Runs standalone with CTFLOW_SO=.../ctflow.so.
set -eEuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=${TESTS_DIR:-$here/..}
# shellcheck source=tests/lib/collectd.sh
. "$TESTS_DIR/lib/collectd.sh"

ctfi_require ip grep awk
[[ -f $COLLECTD_PLUGINS/load.so ]] ||
  ctfi_cannot_run "missing collectd plugin: $COLLECTD_PLUGINS/load.so"

NS=ctfi-bo$$
WORK=$(mktemp -d /tmp/ctfi-bad_option.XXXXXX)

# name | <Plugin ctflow> body | option | value as the error must name it
# (a "\n" in a body starts a new line: the second-block case closes the
# block and opens another)
CASES=(
  'good|LocalNetwork "192.168.77.0/24"||'
  'unknown option|Frobnicate "wibble"|Frobnicate|wibble'
  'bad CIDR|LocalNetwork "10.0.0.0/33"|LocalNetwork|10.0.0.0/33'
  'negative MaxHosts|MaxHosts -1|MaxHosts|-1'
  'MaxNewHosts 0|MaxNewHosts 0|MaxNewHosts|0'
  'unknown FlowKey|FlowKey "foo"|FlowKey|foo'
  'ForgetAfter 0|ForgetAfter 0|ForgetAfter|0'
  'non-boolean Events|Events "maybe"|Events|maybe'
  "missing NetNamespace|NetNamespace \"ctfs-absent$$\"|NetNamespace|ctfs-absent$$"
  'NetNamespace not a name|NetNamespace "lan/router"|NetNamespace|lan/router'
  'NetNamespace not a namespace|NetNamespace "/proc/self/ns/uts"|NetNamespace|/proc/self/ns/uts'
  'non-boolean EnableAccounting|EnableAccounting 1|EnableAccounting|1'
  'HostName address that does not parse|HostName "192.168.77.300" "laptop"|HostName|192.168.77.300'
  'HostName naming a host after a ctflow instance|HostName "192.168.77.11" "total"|HostName|total'
  'HostName naming a host like an address, with dashes for dots|HostName "192.168.77.11" "192-168-77-12"|HostName|192-168-77-12'
  'relative HostsFile path|HostsFile "dhcp.leases"|HostsFile|dhcp.leases'
  'unknown Protocol|Protocol "tcpp"|Protocol|tcpp'
  'Protocol number beyond 255|Protocol 256|Protocol|256'
  'Zone beyond 65535|Zone 65536|Zone|65536'
  'Mark beyond 32 bits|Mark "0x1ffffffff/0xff"|Mark|0x1ffffffff/0xff'
  'Mark mask that does not parse|Mark "0x2a/ff"|Mark|0x2a/ff'
  'Host that is no address|Host "laptop"|Host|laptop'
  'Host regex that does not compile|Host "/(/"|Host|/(/'
  'Host regex that regcomp would spend 10 s on|Host "/2++++++++++++++++++++++/"|Host|/2++++++++++++++++++++++/'
  'non-boolean IgnoreSelected|IgnoreSelected "yes"|IgnoreSelected|yes'
  'unknown HostSeries|HostSeries "traffic" "bytes"|HostSeries|bytes'
  'a second <Plugin ctflow> block|LocalNetwork "192.168.77.0/24"\n</Plugin>\n<Plugin ctflow>\n  MaxHosts 10|a second <Plugin ctflow> block|put all ctflow options in one block'
)

# Every option ctflow knows: the unknown option's error lists them.
# The block users start from, conf/ctflow.conf, comments and all: it must
# start as it is.
shipped=$(awk '/^<Plugin ctflow>/ { f = 1; next } /^<\/Plugin>/ { f = 0 } f' \
  "$TESTS_DIR/../conf/ctflow.conf" | awk '{ printf "%s\\n", $0 }')
[[ -n $shipped ]] || ctfi_cannot_run "no <Plugin ctflow> block in conf/ctflow.conf"
CASES+=("the shipped conf/ctflow.conf|${shipped}||")

OPTIONS="LocalNetwork MaxHosts MaxNewHosts Events EventBufferSize TopFlows FlowKey
  MaxFlowKeys ForgetAfter NetNamespace EnableAccounting HostName HostsFile
  Protocol Zone Mark Host IgnoreSelected HostSeries"

cleanup() {
  local i
  for i in "${!CASES[@]}"; do
    if collectd_running "$WORK/$i"; then collectd_stop "$WORK/$i"; fi
  done
  if [[ -e /run/netns/$NS ]]; then ip netns del "$NS"; fi
  if [[ -n ${CTFI_KEEP:-} ]]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
}
ctfi_traps cleanup

start=$SECONDS
ip netns add "$NS"
ip -n "$NS" link set lo up

for i in "${!CASES[@]}"; do
  IFS='|' read -r _ body _ _ <<<"${CASES[$i]}"
  collectd_conf "$WORK/$i" load "  ${body//\\n/$'\n'}"
  collectd_start "$WORK/$i" "$NS"
done

# Prints the load plugin's csv lines of case $1.
load_lines() {
  csv_lines "$WORK/$1" load/load
}

# Let every collectd run a few intervals; the good one paces the test.
collectd_wait_reads "$WORK/0" 2 ||
  ctfi_not_ok "the good configuration: ctflow did not read twice in 15 s"
declare -A lines_then
for i in "${!CASES[@]}"; do lines_then[$i]=$(load_lines "$i"); done
collectd_wait_reads "$WORK/0" 5 || true

for i in "${!CASES[@]}"; do
  IFS='|' read -r name body option value <<<"${CASES[$i]}"
  dir=$WORK/$i
  echo "# case $name: <Plugin ctflow> ${body:0:120}"
  now=$(load_lines "$i")
  if collectd_running "$dir"; then
    ctfi_ok "$name: collectd keeps running"
  else
    # Reap it for its exit status; show what it said.
    collectd_stop "$dir"
    ctfi_not_ok "$name: collectd keeps running: it exited with status $COLLECTD_STATUS; its log:"
    sed 's/^/#   /' "$dir/collectd.log"
  fi
  ctfi_check "$name: the load plugin keeps writing (csv lines ${lines_then[$i]} -> $now)" \
    test "$now" -ge $((lines_then[$i] + 2))
  series=$(find "$dir/csv" -mindepth 2 -maxdepth 2 -name 'ctflow-*' -printf '%f ')
  errors=$(grep -c '\[error\]' "$dir/collectd.log" || true)
  if [[ -z $option ]]; then
    ctfi_check "$name: ctflow writes its series (control: ${series:-none})" \
      csv_has "$dir" ctflow-self/count-flows
    ctfi_check "$name: no error in the log (found $errors)" test "$errors" = 0
    continue
  fi
  ctfi_check "$name: ctflow writes no series (${series:-none})" test -z "$series"
  if [[ $option == Frobnicate ]]; then
    unnamed=$(for o in $OPTIONS; do
      grep '\[error\] ctflow: unknown option' "$dir/collectd.log" |
        grep -qw -- "$o" || printf '%s ' "$o"
    done)
    ctfi_check "$name: the error lists every option ctflow knows${unnamed:+ (not: $unnamed)}" \
      test -z "$unnamed"
  fi
  ctflow_errors=$(grep -c '\[error\] ctflow: ' "$dir/collectd.log" || true)
  # One line from ctflow that names the option and the value.
  naming=$(grep '\[error\] ctflow: ' "$dir/collectd.log" | grep -F -- "$option" |
    grep -cF -- "$value" || true)
  line=$(grep -m1 '\[error\] ctflow: ' "$dir/collectd.log" || true)
  ctfi_check "$name: one error from ctflow (found $ctflow_errors): ${line:-none}" \
    test "$ctflow_errors" = 1
  ctfi_check "$name: that error names the option \"$option\" and the value \"$value\"" \
    test "$naming" = 1
  # collectd's own "Initialization of plugin ... failed" names neither.
  others=$(grep '\[error\]' "$dir/collectd.log" | grep -v '\[error\] ctflow: ' |
    grep -F -- "$option" || true)
  ctfi_check "$name: no second error about $option${others:+: $others}" test -z "$others"
done

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
