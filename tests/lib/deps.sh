# shellcheck shell=bash
# deps.sh: installs the Debian packages ctflow's scripts need (sourced).
#
#   ctflow_install_deps [EXTRA_PACKAGE ...]
#
# Installs only what is missing, so a machine that has everything is not
# touched and one that is new gets it all from apt. A service that Debian
# starts when it installs one of CTFLOW_QUIET_SERVICES' packages is stopped
# and disabled again (only when this call installed that package): the
# tests run back ends of their own, in network namespaces of their own,
# and need no daemon of the machine's.

CTFLOW_BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config
  libmnl-dev libnetfilter-conntrack-dev check libsodium-dev collectd-core
  collectd-dev"
CTFLOW_RUN_PACKAGES="iproute2 nftables conntrack iputils-ping socat iperf3
  python3 procps"
# The back ends of tests/integration/writers.sh, and the libraries
# collectd-core's write_prometheus.so links without depending on them.
# shellcheck disable=SC2034 # read by tests/run
CTFLOW_WRITER_PACKAGES="rrdtool influxdb graphite-carbon prometheus
  libmicrohttpd12 libprotobuf-c1"
# "package:service" for each package above whose install starts a service.
CTFLOW_QUIET_SERVICES="influxdb:influxdb graphite-carbon:carbon-cache
  prometheus:prometheus"

ctflow_install_deps() {
  local wanted missing=() pkg
  wanted="$CTFLOW_BUILD_PACKAGES $CTFLOW_RUN_PACKAGES $*"
  for pkg in $wanted; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "ctflow: missing Debian packages: ${missing[*]}; run as root" >&2
    return 1
  fi
  echo "ctflow: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null &&
    _ctflow_quiet_services "${missing[@]}"
}

# Stops and disables the service of each package named that has one in
# CTFLOW_QUIET_SERVICES, where systemd runs (without it, Debian's
# invoke-rc.d starts nothing in a container either way).
_ctflow_quiet_services() {
  local entry pkg
  [ -d /run/systemd/system ] || return 0
  for entry in $CTFLOW_QUIET_SERVICES; do
    for pkg in "$@"; do
      [ "$pkg" = "${entry%%:*}" ] || continue
      echo "ctflow: stopping and disabling ${entry#*:}, started by its install" >&2
      systemctl disable --now "${entry#*:}" >/dev/null 2>&1 || true
    done
  done
}
