# shellcheck shell=bash
# deps.sh: installs the Debian packages ctflow's scripts need (sourced).
#
#   ctflow_install_deps [EXTRA_PACKAGE ...]
#
# Installs only what is missing, so a machine that has everything is not
# touched and one that is new gets it all from apt.

CTFLOW_BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config
  libmnl-dev libnetfilter-conntrack-dev check libsodium-dev collectd-core
  collectd-dev"
CTFLOW_RUN_PACKAGES="iproute2 nftables conntrack iputils-ping socat iperf3
  python3 procps"

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
      --no-install-recommends "${missing[@]}" >/dev/null
}
