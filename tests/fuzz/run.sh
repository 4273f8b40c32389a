#!/bin/bash
# tests/fuzz/run.sh: builds the libFuzzer targets (tests/fuzz/fuzz_*.c;
# each file's header says what it runs and checks) and runs them one after
# another, each for SECONDS seconds, then measures what their corpora cover.
#
#   tests/fuzz/run.sh SECONDS [TARGET...]   (tests/run: 20, every target)
#
# Builds with clang in build/fuzz (-fsanitize=fuzzer,address,undefined, the
# core's own sources) and, for coverage, in build/fuzz-cov
# (-fprofile-instr-generate). Keeps under build/fuzz, never committed:
#   corpus/TARGET    the corpus, seeded from tests/fixtures/*.bin (netlink
#                    targets) and tests/fuzz/seeds/, kept from run to run
#   crashes/TARGET   inputs that crashed, leaked or hung (libFuzzer's files)
#   logs/TARGET.log  libFuzzer's output
#   summary          one line a target: PASS or FAIL, executions, coverage
# Prints per target: executions, libFuzzer's cov (code edges) and ft
# (features) figures, corpus size, crashes; then the lines and branches of
# the parsers (ct_parse.c, nlattr.h, kernel_stats.c, names.c, name_rules.c,
# nlsock.c) and of accounting.c that the corpora cover. Exits non-zero when
# a target crashed or could not run. Needs no root, but installs clang's
# packages when missing (which needs root).
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
seconds=${1:-}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: tests/fuzz/run.sh SECONDS [TARGET...] (how long each" \
    "target runs; which, e.g. fuzz_netlink: all by default)" >&2
  exit 2
fi
shift
# shellcheck source=tests/lib/deps.sh
. tests/lib/deps.sh
ctflow_install_deps clang libclang-rt-14-dev llvm

out=build/fuzz
mkdir -p "$out/logs"
: >"$out/summary"
[ -x configure ] || ./autogen.sh >/dev/null 2>&1

# Configures build dir $1 with clang and CFLAGS $2, LDFLAGS $3 (once), then
# builds the fuzz targets there.
build() {
  mkdir -p "$1"
  (cd "$1" && { [ -f Makefile ] || "$top/configure" -q CC=clang \
    --disable-integration-tests CFLAGS="$2" LDFLAGS="$3"; } &&
    make -s -j2 fuzz) >"$1/build.log" 2>&1 || {
    cat "$1/build.log"
    echo "tests/fuzz/run.sh: building in $1 failed" >&2
    echo "build FAIL in $1" >>"$out/summary"
    exit 1
  }
}

san="-fsanitize=address,undefined -fno-sanitize-recover=all"
build "$out" "-O1 -g -Wall -Wextra -Werror -fno-omit-frame-pointer \
  -fsanitize=fuzzer-no-link $san" "$san"

# Prints the seed files of target $1.
seeds_of() {
  case "$1" in
  fuzz_hosts_file) echo tests/fuzz/seeds/hosts_file/* ;;
  fuzz_config) echo tests/fuzz/seeds/config/* ;;
  fuzz_netlink) echo tests/fixtures/*.bin tests/fuzz/seeds/netlink/* ;;
  *) echo tests/fixtures/*.bin ;;
  esac
}

targets=()
for source in tests/fuzz/fuzz_*.c; do
  targets+=("$(basename "$source" .c)")
done
fuzzed=("${@:-${targets[@]}}")
status=0
printf '%-20s %12s %7s %7s %8s %8s\n' target executions cov ft corpus crashes
for t in "${fuzzed[@]}"; do
  if [ ! -f "tests/fuzz/$t.c" ]; then
    echo "tests/fuzz/run.sh: no target $t (tests/fuzz/$t.c)" >&2
    exit 2
  fi
  corpus=$out/corpus/$t crashes=$out/crashes/$t log=$out/logs/$t.log
  mkdir -p "$corpus" "$crashes"
  # shellcheck disable=SC2046 # seeds_of prints file names without spaces
  cp -n $(seeds_of "$t") "$corpus/"
  before=$(find "$crashes" -type f | wc -l)
  rc=0
  "$out/tests/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$crashes/" \
    "$corpus" >"$log" 2>&1 || rc=$?
  found=$(($(find "$crashes" -type f | wc -l) - before))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  figures=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
  read -r _ edges _ features <<<"${figures:-? ? ? ?}"
  result=PASS
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ] || [ -z "$execs" ]; then
    result=FAIL
    status=1
  fi
  printf '%-20s %12s %7s %7s %8s %8s  %s\n' "$t" "${execs:-?}" "$edges" \
    "$features" "$(find "$corpus" -type f | wc -l)" "$found" "$result"
  echo "$t $result executions=${execs:-?} cov=$edges ft=$features" \
    "crashes=$found" >>"$out/summary"
  if [ "$result" = FAIL ]; then
    grep -E -A30 'ERROR|FINDING|==[0-9]+==' "$log" | head -60 || tail -30 "$log"
    ls "$crashes"
  fi
  grep '^fuzz_' "$log" | grep -v FINDING || true
done

# Coverage: every corpus input run once through an instrumented build.
cov=build/fuzz-cov
build "$cov" "-O0 -g -fprofile-instr-generate -fcoverage-mapping" \
  "-fprofile-instr-generate"
rm -f "$cov"/*.profraw
objects=()
for t in "${targets[@]}"; do
  LLVM_PROFILE_FILE="$cov/$t.profraw" "$cov/tests/fuzz/$t" -runs=0 \
    "$out/corpus/$t" >"$cov/$t.log" 2>&1 || true
  objects+=(-object "$cov/tests/fuzz/$t")
done
llvm-profdata merge -sparse "$cov"/*.profraw -o "$cov/corpus.profdata"
echo
echo "what the corpora cover (llvm-cov over build/fuzz-cov):"
report() {
  llvm-cov report "${objects[@]:1}" -instr-profile="$cov/corpus.profdata" "$@"
}
report "$top/plugin/ct_parse.c" "$top/plugin/nlattr.h" \
  "$top/plugin/kernel_stats.c" "$top/plugin/names.c" \
  "$top/plugin/name_rules.c" "$top/plugin/nlsock.c" \
  "$top/plugin/accounting.c" |
  awk '$1 ~ /\.[ch]$|^TOTAL$/ { sub(".*/", "", $1);
    printf "  %-16s lines %4s, missed %3s: %7s; branches %7s\n",
      $1, $8, $9, $10, $13 }'
# nlsock.c's socket calls are not fuzzed; what checks datagrams is.
report -show-functions "$top/plugin/nlsock.c" |
  awk '$1 == "nlsock_messages_fit" {
    printf "  %-16s lines %4s, missed %3s: %7s; branches %7s\n",
      $1, $5, $6, $7, $10 }'
exit "$status"
