#!/bin/bash
# writers.sh: ctflow's series reach the back ends users graph them in,
# through collectd's own writers, each to a real back end from Debian, under
# the names README's "Back ends" gives and with the values the csv writer
# wrote for the same reads:
#   - network -> InfluxDB 1.x's collectd input: every read's raw value, at
#     collectd's time;
#   - write_graphite -> carbon-cache (whisper files): raw values with
#     StoreRates false (node "counters", Prefix "counters."), per-second
#     rates between two reads by default (node "rates"), each at the read's
#     time rounded to the second;
#   - write_prometheus, scraped by Prometheus (honor_labels): raw values at
#     collectd's times (the page gives each sample its time);
#   - rrdtool: per step, the rate (DERIVE) or mean (GAUGE) that the csv
#     values give over that step; an IPv6 host's file read by rrdtool xport
#     with the ':' of its DEF escaped, and refused unescaped.
# The series compared (SERIES below): an IPv4 host's (h1) bytes and
# packets each way, its TCP connections and peers; an IPv6 host's (h2)
# bytes; total's bytes; ctflow-self/count-flows; the top flow key of h1's
# transfer. For each, a back end must hold several points, every one of
# them equal to the csv's value at its time (none where the csv has none),
# the newest at the series' last read after the traffic.
# And what README says besides: InfluxDB's four measurements; its
# InfluxQL and PromQL examples; a series collectd stops getting (h1's
# transfer key, out of the top) leaves write_prometheus' page but stays
# in Prometheus; the back ends' own loopback traffic is among ctflow's
# top flows.
#
# Everything runs in the router's namespace: collectd with ctflow and the
# csv, rrdtool, network, write_graphite and write_prometheus writers, and
# the back ends on its loopback, each with a configuration and data
# directory under the test's own directory, on ports of that namespace
# (nothing else on the machine can hold them, and no Debian service of the
# machine is used: tests/lib/deps.sh stops those its install starts).
# Needs root. Runs standalone with CTFLOW_SO=.../ctflow.so.
set -eEuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=${TESTS_DIR:-$here/..}
# shellcheck source=tests/lib/topology.sh
. "$TESTS_DIR/lib/topology.sh"
# shellcheck source=tests/lib/collectd.sh
. "$TESTS_DIR/lib/collectd.sh"

ctfi_require ip nft conntrack iperf3 socat ping ss timeout awk "$TOPO_PYTHON" \
  influxd carbon-cache prometheus rrdtool
for plugin in rrdtool network write_graphite write_prometheus; do
  so=$COLLECTD_PLUGINS/$plugin.so
  [[ -f $so ]] || ctfi_cannot_run "missing collectd plugin: $so"
  if ldd "$so" | grep -q 'not found'; then
    ctfi_cannot_run "$so lacks libraries: $(ldd "$so" | grep 'not found' | tr -s ' \n' ' ')"
  fi
done
"$TOPO_PYTHON" -c 'import whisper' 2>/dev/null ||
  ctfi_cannot_run "$TOPO_PYTHON has no whisper module (python3-whisper)"
[[ -f $COLLECTD_TYPESDB ]] || ctfi_cannot_run "no collectd types.db: $COLLECTD_TYPESDB"

PREFIX=ctfw-$$-
WORK=$(mktemp -d /tmp/ctfi-writers.XXXXXX)
ROUTER=$(topo_ns "$PREFIX" router)
CTFI_INTERVAL=2
# Ports on the router namespace's loopback, none a back end's default.
INFLUX_HTTP_PORT=28086
INFLUX_RPC_PORT=28088
INFLUX_COLLECTD_PORT=28096
CARBON_LINE_PORT=22003
CARBON_PICKLE_PORT=22004
CARBON_QUERY_PORT=27002
PROMETHEUS_PORT=29090
EXPORTER_PORT=29103
# Back end name -> pid, for the cleanup.
declare -A BACKEND_PIDS=()
HOLD_PID=

stop_backends() {
  local name pid i
  touch "$WORK/release"
  if [[ -n $HOLD_PID ]]; then wait "$HOLD_PID" 2>/dev/null || true; fi
  for name in "${!BACKEND_PIDS[@]}"; do
    pid=${BACKEND_PIDS[$name]}
    kill -TERM "$pid" 2>/dev/null || continue
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  BACKEND_PIDS=()
}
ctfi_traps_topology stop_backends

H1=${TOPO_V4[h1]}
H2_6=${TOPO_V6[h2]}
W4=${TOPO_V4[wan]}
W6=${TOPO_V6[wan]}
X4=${TOPO_V4[wan2]}
# h1's transfer, the heaviest flow (README, "Flow keys": conversation).
H1_KEY=$H1-$W4-tcp-5201

# The series compared, as "<csv series> <data source>" (the csv writer's
# path under its host directory, README "Series"; rx, tx or value).
SERIES=(
  "ctflow-$H1/if_octets rx" "ctflow-$H1/if_octets tx"
  "ctflow-$H1/if_packets rx" "ctflow-$H1/if_packets tx"
  "ctflow-$H1/current_connections-tcp value"
  "ctflow-$H1/count-peers value"
  "ctflow-$H2_6/if_octets rx" "ctflow-$H2_6/if_octets tx"
  "ctflow-total/if_octets rx" "ctflow-total/if_octets tx"
  "ctflow-self/count-flows value"
  "ctflow-flows/if_octets-$H1_KEY rx" "ctflow-flows/if_octets-$H1_KEY tx"
)

# --- the names (README, "Back ends") ----------------------------------------
# Each takes a csv series and a data source and prints the back end's name
# for it, built from the documented rules alone.

# Splits a csv series into the globals PI (plugin instance), TYPE and TI
# (type instance, maybe empty). No type ctflow uses has a '-' in its name.
split_series() {
  local rest=${1#*/}
  PI=${1%%/*}
  PI=${PI#ctflow-}
  TYPE=${rest%%-*}
  TI=
  if [[ $rest == *-* ]]; then TI=${rest#*-}; fi
}

# collectd's DERIVE types among those compared (types.db); the others are
# GAUGEs.
ds_type() {
  case $1 in
  if_octets | if_packets | total_connections) echo DERIVE ;;
  *) echo GAUGE ;;
  esac
}

# InfluxDB: measurement ctflow_<data source>, tags host, instance, type,
# type_instance (absent when empty), as InfluxDB prints a series key.
influx_key() {
  split_series "$1"
  printf 'ctflow_%s,host=%s,instance=%s,type=%s%s\n' "$2" "$CTFI_HOST" "$PI" \
    "$TYPE" "${TI:+,type_instance=$TI}"
}

# Prometheus: collectd_ctflow_<type>[_<data source> unless "value"][_total
# for a counter], labels ctflow (plugin instance), instance (collectd's
# Hostname, kept by honor_labels) and type (type instance, when there is
# one), sorted by name as the dump below prints them.
prometheus_key() {
  local name
  split_series "$1"
  name=collectd_ctflow_$TYPE
  if [[ $2 != value ]]; then name+=_$2; fi
  if [[ $(ds_type "$TYPE") == DERIVE ]]; then name+=_total; fi
  printf '%s{ctflow="%s",instance="%s"%s}\n' "$name" "$PI" "$CTFI_HOST" \
    "${TI:+,type=\"$TI\"}"
}

# Graphite: [<prefix>]<host>.ctflow-<instance>.<type>[-<type instance>]
# [.<data source> for a type of several], escaped as write_graphite does.
graphite_key() {
  local path
  split_series "$1"
  path=${3:-}$CTFI_HOST.ctflow-$(graphite_escape "$PI").$TYPE
  if [[ -n $TI ]]; then path+=-$(graphite_escape "$TI"); fi
  if [[ $2 != value ]]; then path+=.$2; fi
  printf '%s\n' "$path"
}

# rrdtool: <DataDir>/<host>/ctflow-<instance>/<type>[-<type instance>].rrd;
# the data source is the type's own name (rx, tx, value).
rrd_file() {
  split_series "$1"
  printf '%s/rrd/%s/ctflow-%s/%s%s.rrd\n' "$WORK" "$CTFI_HOST" "$PI" "$TYPE" \
    "${TI:+-$TI}"
}

# The csv column of a data source.
ds_column() {
  if [[ $1 == tx ]]; then echo 2; else echo 1; fi
}

# --- reading the back ends ---------------------------------------------------
# Reads a back end. argv:
#   influxdb URL, prometheus URL, whisper DIR: prints "<key> <epoch>
#     <value>" for every point of ctflow's series the back end holds, <key>
#     as the functions above spell it;
#   influxql URL QUERY: prints "<epoch> <value>" of each point of QUERY;
#   promql URL QUERY EPOCH: prints "<epoch> <value>" of each series of
#     QUERY's instant vector at EPOCH;
#   page URL: prints the page (write_prometheus').
BACKEND_QUERY='
import json, os, sys, time, urllib.parse, urllib.request
mode, where = sys.argv[1], sys.argv[2]
def get(path, **query):
    url = where + path + "?" + urllib.parse.urlencode(query)
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)
def show(key, t, v):
    print("%s %.6f %r" % (key, t, float(v)))
if mode == "influxdb":
    # the database is made by the first values received: until then, no series
    answer = get("/query", db="collectd", epoch="ns", q="SELECT * FROM /^ctflow_/")
    for s in answer["results"][0].get("series", []):
        cols = s["columns"]
        for row in s["values"]:
            r = dict(zip(cols, row))
            tags = "".join(",%s=%s" % (k, r[k]) for k in ("host", "instance", "type", "type_instance") if r.get(k))
            show(s["name"] + tags, r["time"] / 1e9, r["value"])
elif mode == "influxql":
    answer = get("/query", db="collectd", epoch="ns", q=sys.argv[3])
    for s in answer["results"][0].get("series", []):
        for t, v in s["values"]:
            if v is not None:
                print("%.6f %r" % (t / 1e9, float(v)))
elif mode == "promql":
    answer = get("/api/v1/query", query=sys.argv[3], time=sys.argv[4])
    for s in answer["data"]["result"]:
        print("%.6f %r" % (float(s["value"][0]), float(s["value"][1])))
elif mode == "page":
    with urllib.request.urlopen(where, timeout=10) as r:
        sys.stdout.write(r.read().decode())
elif mode == "prometheus":
    answer = get("/api/v1/query", query="{__name__=~\"collectd_ctflow_.+\"}[15m]")
    for s in answer["data"]["result"]:
        m = s["metric"]
        labels = ",".join("%s=\"%s\"" % (k, m[k]) for k in sorted(m) if k not in ("__name__", "job"))
        for t, v in s["values"]:
            show("%s{%s}" % (m["__name__"], labels), float(t), v)
else:
    import whisper
    since = time.time() - 3000
    for d, _, files in os.walk(where):
        for f in files:
            if not f.endswith(".wsp"):
                continue
            path = os.path.join(d, f)
            key = os.path.relpath(path, where)[:-4].replace("/", ".")
            (start, end, step), values = whisper.fetch(path, since)
            for i, v in enumerate(values):
                if v is not None:
                    show(key, start + i * step, v)
'

dump_influxdb() {
  ip netns exec "$ROUTER" "$TOPO_PYTHON" -c "$BACKEND_QUERY" influxdb \
    "http://127.0.0.1:$INFLUX_HTTP_PORT" >"$WORK/influxdb.dump"
}
dump_prometheus() {
  ip netns exec "$ROUTER" "$TOPO_PYTHON" -c "$BACKEND_QUERY" prometheus \
    "http://127.0.0.1:$PROMETHEUS_PORT" >"$WORK/prometheus.dump"
}
dump_graphite() {
  "$TOPO_PYTHON" -c "$BACKEND_QUERY" whisper "$WORK/carbon/whisper" >"$WORK/graphite.dump"
}

# These write into a file named last rather than print: a failing command
# inside a function whose output is redirected would send the test's "not
# ok" line there too.

# Writes "<epoch> <value>" of KEY's points in DUMP (a file of the above)
# into OUT. argv: DUMP, KEY, OUT.
points_of() {
  awk -v k="$2" '$1 == k { print $2, $3 }' "$1" >"$3"
}

# Writes "<epoch> <value>" for every step of an rrd file's data source
# (nan when unknown) into OUT. argv: file, data source, start, end, OUT.
rrd_points() {
  rrdtool fetch "$1" AVERAGE -r "$CTFI_INTERVAL" -s "$3" -e "$4" >"$5.fetch"
  awk -v ds="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == ds) col = i + 1 }
    /^[0-9]+:/ { sub(/:$/, "", $1); v = $col; if (v ~ /nan/) v = "nan"; print $1, v }' \
    "$5.fetch" >"$5"
}

# Compares a back end's points of one series with the csv's; prints what it
# found and returns 0 when every point is the csv's at its time (see the
# modes), there are at least NEED of them, and the newest compared is at
# the series' read at LAST (the last before the check) or later.
#   raw  TOL: each point is the csv value of the line within TOL seconds
#        (InfluxDB, Prometheus keep collectd's time; Graphite rounds it to
#        the second);
#   rate TOL: each point is (v1 - v0) / (t1 - t0) of the csv line within
#        TOL seconds and the one before (write_graphite's StoreRates true;
#        relative 1e-3: the csv's times are cut to the millisecond);
#   rrd  STEP TYPE: each step (T - STEP, T] that collectd's updates cover
#        whole (none more than the heartbeat, 2 * STEP, apart) holds the
#        time-weighted mean over the step of the rate between updates
#        (DERIVE) or of the value each update brings (GAUGE); the rrdtool
#        writer gives rrdtool each value at its time rounded to the second
#        (a csv time within 2 ms of a half second could round either way:
#        steps that need one are not compared).
# argv: mode, csv points file, back end points file, LAST, NEED, TOL|STEP
# [TYPE].
COMPARE='
import math, sys
mode, csv_file, got_file, last, need = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
def points(path):
    out = []
    for line in open(path):
        f = line.split()
        if len(f) == 2:
            out.append((float(f[0]), float(f[1])))
    return out
def same(a, b, rel):
    return abs(a - b) <= rel * max(1.0, abs(b))
csv, got = points(csv_file), points(got_file)
bad, matched, newest = [], 0, None
if mode in ("raw", "rate"):
    tol = float(sys.argv[6])
    if mode == "raw":
        want, rel = csv, 1e-9
    else:
        want = [(t1, (v1 - v0) / (t1 - t0)) for (t0, v0), (t1, v1) in zip(csv, csv[1:])]
        rel = 1e-3
    for t, v in got:
        near = [w for w in want if abs(w[0] - t) < tol]
        if not near:
            bad.append("%.3f: %.9g where the csv has none" % (t, v))
        elif not same(v, near[0][1], rel):
            bad.append("%.3f: %.9g, csv %.9g" % (t, v, near[0][1]))
        else:
            matched += 1
            newest = near[0][0] if newest is None else max(newest, near[0][0])
    slack = 0.001
else:
    step, dstype = float(sys.argv[6]), sys.argv[7]
    updates = [(math.floor(t + 0.5), v, abs(t - math.floor(t) - 0.5) < 0.002) for t, v in csv]
    spans = []
    for (u0, v0, odd0), (u1, v1, odd1) in zip(updates, updates[1:]):
        known = not (odd0 or odd1) and 0 < u1 - u0 <= 2 * step
        rate = (v1 - v0) / (u1 - u0) if dstype == "DERIVE" and u1 > u0 else v1
        spans.append((u0, u1, rate, known))
    for t, v in got:
        over = [(max(a, t - step), min(b, t), r, k) for a, b, r, k in spans if a < t and b > t - step]
        if sum(b - a for a, b, _, _ in over) < step - 1e-9 or not all(k for *_, k in over):
            continue
        expect = sum((b - a) * r for a, b, r, _ in over) / step
        if math.isnan(v) or not same(v, expect, 1e-6):
            bad.append("step %d: %.9g, csv gives %.9g" % (t, v, expect))
        else:
            matched += 1
            newest = t if newest is None else max(newest, t)
    slack = step
ok = not bad and matched >= need and newest is not None and newest >= last - slack
print("%d points equal to the csv%s%s" % (matched,
    "" if newest is None else ", newest %+.1f s from the last read" % (newest - last),
    "; differ: " + "; ".join(bad[:3]) if bad else ""))
sys.exit(0 if ok else 1)
'

# Prints the name of a file holding the csv points ("<epoch> <value>") of
# a SERIES entry, made anew from the csv files.
csv_points() {
  local series ds f
  read -r series ds <<<"$1"
  f=$WORK/points/csv.${series//\//_}.$ds
  csv_values "$WORK" "$series" "$(ds_column "$ds")" >"$f" || : >"$f"
  printf '%s\n' "$f"
}

# Returns 0 when DUMP has a point of KEY within TOL seconds of EPOCH.
has_point() {
  awk -v k="$2" -v t="$3" -v tol="$4" \
    '$1 == k && $2 - t < tol && t - $2 < tol { found = 1 } END { exit !found }' "$1"
}

# Dumps the back ends and returns 0 when each holds every series' point of
# its last read (LAST).
backends_caught_up() {
  local s series ds
  dump_influxdb && dump_prometheus && dump_graphite || return 1
  for s in "${SERIES[@]}"; do
    read -r series ds <<<"$s"
    has_point "$WORK/influxdb.dump" "$(influx_key "$series" "$ds")" "${LAST[$s]}" 0.3 &&
      has_point "$WORK/prometheus.dump" "$(prometheus_key "$series" "$ds")" "${LAST[$s]}" 0.3 &&
      has_point "$WORK/graphite.dump" "$(graphite_key "$series" "$ds" counters.)" "${LAST[$s]}" 0.6 ||
      return 1
  done
}

# One check named TEXT: the back end's points in $WORK/points/got against
# the csv's in file $csv, up to the read at $last (COMPARE MODE ARG...).
compare_check() {
  local text=$1 mode=$2 summary
  shift 2
  if summary=$("$TOPO_PYTHON" -c "$COMPARE" "$mode" "$csv" "$WORK/points/got" \
    "$last" "$NEED" "$@"); then
    ctfi_ok "$text: $summary"
  else
    ctfi_not_ok "$text: $summary"
  fi
}

# One check: KEY's points in $WORK/BACKEND.dump against the csv's
# (compare_check MODE ARG...), named "NAME KEY"; when the dump has no KEY,
# a "# " line shows its names of the same plugin instance ($PI).
backend_check() {
  local name=$1 dump=$WORK/$2.dump key=$3
  shift 3
  points_of "$dump" "$key" "$WORK/points/got"
  compare_check "$name $key" "$@"
  if [[ ! -s $WORK/points/got ]]; then
    echo "# $name has no $key; its names of $PI: $(awk -v a="$PI" -v b="$(graphite_escape "$PI")" \
      '(index($1, a) || index($1, b)) && !seen[$1]++ && n++ < 4 { printf "%s ", $1 }' "$dump")"
  fi
}

# Returns 0 when write_prometheus' PAGE has h1's series but none of its
# transfer's key, and the key's csv points (KEY_CSV) end at REF.
page_dropped() {
  ! grep -qF "type=\"$H1_KEY\"" "$1" && grep -qF "ctflow=\"$H1\"" "$1" &&
    awk -v t="$REF" '$1 > t + 0.3 { late = 1 } END { exit late }' "$2"
}

# Returns 0 when FILE has one "<epoch> <value>" line, its value above 0.
one_positive() {
  awk 'END { exit !(NR == 1 && $2 > 0) }' "$1"
}

# Returns 0 when FILE has one "<epoch> <value>" line, its value VALUE.
one_equal() {
  awk -v want="$2" 'END { exit !(NR == 1 && $2 == want + 0) }' "$1"
}

# Returns 0 when file B ("<epoch> <value>" lines) has every known step of
# file A, at least 3, with the same values.
same_steps() {
  awk 'NR == FNR { if ($2 != "nan") { want[$1] = $2; n++ } next }
    ($1 in want) { d = $2 - want[$1]; if ($2 == "nan" || d * d > 1e-12 * (1 + want[$1] * want[$1])) bad = 1; seen++ }
    END { exit !(!bad && n >= 3 && seen == n) }' "$1" "$2"
}

# --- the back ends -------------------------------------------------------------
# Each starts in the router's namespace, in the background, logging to
# $WORK/<name>/log; wait_listening makes a back end that does not come up a
# failure of the test.

# Runs back end NAME's command CMD... in the router's namespace, in the
# background, its output into $WORK/NAME/log.
run_backend() {
  local name=$1
  shift
  ip netns exec "$ROUTER" "$@" </dev/null >"$WORK/$name/log" 2>&1 &
  BACKEND_PIDS[$name]=$!
}

start_influxdb() {
  local dir=$WORK/influxdb
  mkdir -p "$dir"
  cat >"$dir/influxdb.conf" <<EOF
reporting-enabled = false
bind-address = "127.0.0.1:$INFLUX_RPC_PORT"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_HTTP_PORT"
  log-enabled = false
[ifql]
  enabled = false
[[collectd]]
  enabled = true
  bind-address = "127.0.0.1:$INFLUX_COLLECTD_PORT"
  database = "collectd"
  typesdb = "$COLLECTD_TYPESDB"
  batch-timeout = "1s"
EOF
  run_backend influxdb influxd -config "$dir/influxdb.conf"
}

start_carbon() {
  local dir=$WORK/carbon
  mkdir -p "$dir"
  cat >"$dir/carbon.conf" <<EOF
[cache]
STORAGE_DIR = $dir/
LOCAL_DATA_DIR = $dir/whisper/
WHITELISTS_DIR = $dir/lists/
CONF_DIR = $dir/
LOG_DIR = $dir/
PID_DIR = $dir/
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $CARBON_LINE_PORT
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = $CARBON_PICKLE_PORT
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = $CARBON_QUERY_PORT
ENABLE_UDP_LISTENER = False
CARBON_METRIC_INTERVAL = 0
EOF
  # One point a second: collectd's times are whole seconds here, and a
  # coarser step would keep only one read of several.
  printf '[all]\npattern = .*\nretentions = 1s:1h\n' >"$dir/storage-schemas.conf"
  run_backend carbon carbon-cache --config="$dir/carbon.conf" \
    --pidfile="$dir/carbon.pid" --logdir="$dir" --nodaemon start
}

start_prometheus() {
  local dir=$WORK/prometheus
  mkdir -p "$dir"
  cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: collectd
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:$EXPORTER_PORT']
EOF
  run_backend prometheus prometheus --config.file="$dir/prometheus.yml" \
    --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
}

# Waits (at most 30 s) until back end NAME listens on PORT (tcp or udp) in
# the router's namespace; fails the test with its log when it does not.
wait_listening() {
  local name=$1 proto=$2 port=$3 i
  for ((i = 0; i < 300; i++)); do
    if [[ -n $(ip netns exec "$ROUTER" ss -Hln --"$proto" "sport = :$port") ]]; then
      ctfi_ok "$name listens on $proto port $port"
      return 0
    fi
    kill -0 "${BACKEND_PIDS[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  ctfi_not_ok "$name did not start (no $proto port $port); its log:"
  sed 's/^/# /' "$WORK/$name/log"
  exit 1
}

# --- setup -------------------------------------------------------------------
start=$SECONDS
topo_up "$PREFIX"
start_influxdb
start_carbon
start_prometheus
wait_listening influxdb tcp "$INFLUX_HTTP_PORT"
wait_listening influxdb udp "$INFLUX_COLLECTD_PORT"
wait_listening carbon tcp "$CARBON_LINE_PORT"
wait_listening prometheus tcp "$PROMETHEUS_PORT"

collectd_conf "$WORK" "rrdtool network write_graphite write_prometheus" \
  "  LocalNetwork \"$TOPO_LAN4_NET\"
  LocalNetwork \"$TOPO_LAN6_NET\"
  TopFlows 10"
cat >>"$WORK/collectd.conf" <<EOF
<Plugin network>
  Server "127.0.0.1" "$INFLUX_COLLECTD_PORT"
</Plugin>
<Plugin write_graphite>
  <Node "rates">
    Host "127.0.0.1"
    Port "$CARBON_LINE_PORT"
    Protocol "tcp"
  </Node>
  <Node "counters">
    Host "127.0.0.1"
    Port "$CARBON_LINE_PORT"
    Protocol "tcp"
    Prefix "counters."
    StoreRates false
  </Node>
</Plugin>
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "$EXPORTER_PORT"
</Plugin>
EOF
ctfi_start_collectd "$WORK" "$ROUTER"
first_read=$(csv_time_of "$WORK" ctflow-self/count-flows 1)

# --- traffic -----------------------------------------------------------------
# h1 keeps three idle TCP connections open until the end (its
# current_connections-tcp), pings a second peer and uploads, paced over
# several reads (its bytes, and the top flow key); h2 works over IPv6.
(
  trap - ERR
  TOPO_TIMEOUT=100 topo_hold "$PREFIX" h1 "$W4" 3 90 "$WORK/release"
) &
HOLD_PID=$!
ctfi_job "h1 tcp4 up" topo_tcp "$PREFIX" h1 "$W4" 5201 up 5M 4M
ctfi_job "h1 ping4" topo_ping "$PREFIX" h1 "$X4" 5
ctfi_job "h2 tcp6 down" topo_tcp "$PREFIX" h2 "$W6" 5202 down 3M 4M
ctfi_job "h2 rr6" topo_rr "$PREFIX" h2 "$W6" "$TOPO_RR_PORT" 20 2
ctfi_wait_jobs "traffic from h1 (IPv4) and h2 (IPv6)"
n=$(collectd_reads "$WORK")
collectd_wait_reads "$WORK" $((n + 2))
REF=$(csv_time_of "$WORK" ctflow-self/count-flows $((n + 2)))

mkdir -p "$WORK/points"
# Each series' last read up to REF (a flow key's ends with its traffic).
declare -A LAST=()
for s in "${SERIES[@]}"; do
  LAST[$s]=$(awk -v ref="$REF" '$1 <= ref + 0.3 { t = $1 } END { printf "%.3f\n", t }' \
    "$(csv_points "$s")")
done

# Waits (at most 30 s) until every back end holds each series' last read;
# the comparisons below tell which did not.
waited=0
until backends_caught_up || ((waited >= 30)); do
  sleep 1
  waited=$((waited + 1))
done
if ((waited < 30)); then
  echo "# the back ends had the last read of every series after $waited s"
else
  echo "# after 30 s a back end still lacked a series' last read (see below)"
fi

# write_prometheus takes a series off its page once collectd's cache calls
# it missing (no value for Timeout intervals, 2 by default): h1's transfer
# key, sent last at or before REF, is gone four reads later; h1 is not.
collectd_wait_reads "$WORK" $((n + 6))
ip netns exec "$ROUTER" "$TOPO_PYTHON" -c "$BACKEND_QUERY" page \
  "http://127.0.0.1:$EXPORTER_PORT/metrics" >"$WORK/metrics.txt"
key_csv=$(csv_points "ctflow-flows/if_octets-$H1_KEY rx")
ctfi_check "write_prometheus' page has h1's series but no longer its transfer's key, $(awk -v t="$REF" '$1 > t + 0.3' "$key_csv" | wc -l) values after REF" \
  page_dropped "$WORK/metrics.txt" "$key_csv"

collectd_stop "$WORK"
ctfi_check "collectd exited cleanly on SIGTERM (status $COLLECTD_STATUS)" \
  test "$COLLECTD_STATUS" = 0
touch "$WORK/release"
ctfi_check "h1's three idle connections were held and closed cleanly" wait "$HOLD_PID"
HOLD_PID=
dump_influxdb
dump_prometheus
dump_graphite

# --- every series in every back end ------------------------------------------
NEED=3
for s in "${SERIES[@]}"; do
  read -r series ds <<<"$s"
  split_series "$series"
  type=$(ds_type "$TYPE")
  csv=$(csv_points "$s")
  last=${LAST[$s]}
  at=$(awk -v t="$last" '$1 == t { print $2 }' "$csv")
  first=$(awk 'NR == 1 { print $2 }' "$csv")
  if [[ $type == DERIVE ]]; then
    ctfi_check "csv $series $ds: $first -> ${at:-none} over $(wc -l <"$csv") reads (the traffic reached it)" \
      awk -v a="$first" -v b="$at" 'BEGIN { exit !(b != "" && b > a) }'
  else
    ctfi_check "csv $series $ds: ${at:-none} at the last read after the traffic (the traffic reached it)" \
      awk -v b="$at" 'BEGIN { exit !(b != "" && b > 0) }'
  fi

  backend_check InfluxDB influxdb "$(influx_key "$series" "$ds")" raw 0.3
  backend_check Prometheus prometheus "$(prometheus_key "$series" "$ds")" raw 0.3
  backend_check "Graphite (StoreRates false)" graphite \
    "$(graphite_key "$series" "$ds" counters.)" raw 0.6
  if [[ $type == DERIVE ]]; then
    backend_check "Graphite (rates, write_graphite's default)" graphite \
      "$(graphite_key "$series" "$ds")" rate 0.6
  else
    backend_check "Graphite (a GAUGE as it is, write_graphite's default)" graphite \
      "$(graphite_key "$series" "$ds")" raw 0.6
  fi

  file=$(rrd_file "$series")
  if [[ -f $file ]]; then
    rrd_points "$file" "$ds" "${first_read%.*}" "$(date +%s)" "$WORK/points/got"
  else
    : >"$WORK/points/got"
  fi
  compare_check "rrdtool ${file#"$WORK/rrd/"} $ds ($type, step $CTFI_INTERVAL s)" \
    rrd "$CTFI_INTERVAL" "$type"
done

# --- the README's example queries, with h1's address --------------------------
query="SELECT non_negative_derivative(\"value\", 1s) FROM \"ctflow_rx\" WHERE \"type\" = 'if_octets' AND \"instance\" = '$H1' AND time > now() - 1h"
ip netns exec "$ROUTER" "$TOPO_PYTHON" -c "$BACKEND_QUERY" influxql \
  "http://127.0.0.1:$INFLUX_HTTP_PORT" "$query" >"$WORK/points/got"
csv=$(csv_points "ctflow-$H1/if_octets rx")
last=${LAST["ctflow-$H1/if_octets rx"]}
compare_check "InfluxQL $query: the csv's bytes per second between reads" rate 0.3
query="rate(collectd_ctflow_if_octets_rx_total{ctflow=\"$H1\"}[5m])"
ip netns exec "$ROUTER" "$TOPO_PYTHON" -c "$BACKEND_QUERY" promql \
  "http://127.0.0.1:$PROMETHEUS_PORT" "$query" "$REF" >"$WORK/points/got"
ctfi_check "PromQL $query at REF: one series, above 0: $(awk '{ printf "%s ", $2 }' "$WORK/points/got")" \
  one_positive "$WORK/points/got"
# Off the page, h1's transfer key is still in Prometheus: its samples carry
# their own times, so no staleness marker ends it before the lookback.
query="collectd_ctflow_if_octets_rx_total{type=\"$H1_KEY\"}"
ip netns exec "$ROUTER" "$TOPO_PYTHON" -c "$BACKEND_QUERY" promql \
  "http://127.0.0.1:$PROMETHEUS_PORT" "$query" "$(date +%s)" >"$WORK/points/got"
key_last=$(awk 'END { print $2 }' "$key_csv")
ctfi_check "PromQL $query now, $(($(date +%s) - ${REF%.*})) s after REF: the key's last csv value, $key_last: $(awk '{ printf "%s ", $2 }' "$WORK/points/got")" \
  one_equal "$WORK/points/got" "$key_last"

# --- what else the README says of each back end ------------------------------
measurements=$(awk '{ sub(/,.*/, "", $1); print $1 }' "$WORK/influxdb.dump" | sort -u | tr '\n' ' ')
ctfi_check "InfluxDB's measurements are one per data source name: ${measurements:-none}" \
  test "$measurements" = "ctflow_rx ctflow_seconds ctflow_tx ctflow_value "

# Back ends on the router's loopback are tracked like any traffic: one of
# the interval's top flows is Prometheus scraping write_prometheus.
ctfi_check "the writers' own traffic is tracked: csv has ctflow-flows/if_octets-127.0.0.1-127.0.0.1-tcp-$EXPORTER_PORT" \
  csv_has "$WORK" "ctflow-flows/if_octets-127.0.0.1-127.0.0.1-tcp-$EXPORTER_PORT"

# rrdtool splits a DEF at ':': an IPv6 address in its path is written '\:'.
file=$(rrd_file "ctflow-$H2_6/if_octets")
escaped=${file//:/\\:}
end=$(rrdtool last "$file")
begin=$((end - 8 * CTFI_INTERVAL))
rrd_points "$file" rx "$begin" "$end" "$WORK/points/fetched"
rrdtool xport --showtime --start "$begin" --end "$end" --step "$CTFI_INTERVAL" \
  "DEF:rx=$escaped:rx:AVERAGE" XPORT:rx |
  sed -n 's|.*<row><t>\([0-9]*\)</t><v>\([^<]*\)</v></row>.*|\1 \2|p' |
  sed 's/ -\{0,1\}nan$/ nan/i; s/NaN$/nan/' >"$WORK/points/exported"
ctfi_check "rrdtool xport DEF:rx=${escaped#"$WORK/rrd/"}:rx:AVERAGE gives rrdtool fetch's $(grep -vc nan "$WORK/points/fetched" || true) known steps of h2's IPv6 file" \
  same_steps "$WORK/points/fetched" "$WORK/points/exported"
if rrdtool xport --start "$begin" --end "$end" "DEF:rx=$file:rx:AVERAGE" XPORT:rx \
  >/dev/null 2>"$WORK/xport.err"; then
  ctfi_not_ok "rrdtool xport took the DEF with the IPv6 address's ':' unescaped"
else
  ctfi_ok "rrdtool xport refuses the DEF with the IPv6 address's ':' unescaped: $(head -1 "$WORK/xport.err")"
fi

echo "# runtime $((SECONDS - start)) s"
ctfi_finish
