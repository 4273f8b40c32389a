#!/bin/bash
# soak_short.sh: tests/bench/soak.sh for 2 minutes, sampling every 20 s:
# churn, events, a flood, conntrack -D and -L -z and lease rewrites at
# once, and collectd's RSS, descriptors and threads flat (the long run is
# a script; the README has its figures). Needs root; run by make check
# with CTFLOW_SO and CTFLOW_BENCH set.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOAK_SAMPLE=20 exec bash "$here/../bench/soak.sh" 2
