# shellcheck shell=bash
# truth.sh: ctflow's per-host series against the topology's ground truth,
# the router's per-address nftables counters (topology.sh). Source
# topology.sh and collectd.sh first.
#
#   truth_growth BEFORE AFTER ROLE FAM...
#       print "TX_PKTS TX_BYTES RX_PKTS RX_BYTES": how much ROLE's truth
#       counters <ROLE>_v<FAM>_tx and _rx grew from file BEFORE to file
#       AFTER (saved topo_counters outputs), summed over the FAMs given
#       (4, 6 or both: a dual-stack host under one name)
#   truth_check DIR INSTANCE EPOCH WHAT "TX_PKTS TX_BYTES RX_PKTS RX_BYTES"
#       four ctfi_close lines, each named WHAT and what it checks: the bytes
#       and packets ctflow-INSTANCE received and sent, in the csv of the
#       collectd in DIR (if_octets, if_packets; at the read at EPOCH, or
#       the last line when EPOCH is empty), against those figures
#   truth_host DIR BEFORE AFTER ROLE FAM [EPOCH]
#       truth_check of ROLE's IPv<FAM> address, under that address, against
#       truth_growth BEFORE AFTER ROLE FAM

truth_growth() {
  local before=$1 after=$2 role=$3 fam dir p b tp=0 tb=0 rp=0 rb=0
  shift 3
  for fam in "$@"; do
    for dir in tx rx; do
      read -r p b <<<"$(topo_growth "$before" "$after" "${role}_v${fam}_$dir")"
      if [[ $dir == tx ]]; then
        tp=$((tp + p)) tb=$((tb + b))
      else
        rp=$((rp + p)) rb=$((rb + b))
      fi
    done
  done
  echo "$tp $tb $rp $rb"
}

# Prints value N of SERIES at the read at EPOCH (the last line when EPOCH
# is empty), or "none".
_truth_value() {
  local dir=$1 series=$2 epoch=$3 n=$4
  if [[ -n $epoch ]]; then
    csv_at "$dir" "$series" "$epoch" "$n" || echo none
  else
    csv_last "$dir" "$series" "$n" || echo none
  fi
}

truth_check() {
  local dir=$1 instance=$2 epoch=$3 what=$4 tp tb rp rb
  read -r tp tb rp rb <<<"$5"
  ctfi_close "$what received bytes" \
    "$(_truth_value "$dir" "ctflow-$instance/if_octets" "$epoch" 1)" "$rb"
  ctfi_close "$what sent bytes" \
    "$(_truth_value "$dir" "ctflow-$instance/if_octets" "$epoch" 2)" "$tb"
  ctfi_close "$what received packets" \
    "$(_truth_value "$dir" "ctflow-$instance/if_packets" "$epoch" 1)" "$rp"
  ctfi_close "$what sent packets" \
    "$(_truth_value "$dir" "ctflow-$instance/if_packets" "$epoch" 2)" "$tp"
}

truth_host() {
  local dir=$1 before=$2 after=$3 role=$4 fam=$5 epoch=${6:-} addr
  if [[ $fam == 4 ]]; then addr=${TOPO_V4[$role]}; else addr=${TOPO_V6[$role]}; fi
  truth_check "$dir" "$addr" "$epoch" "$addr ($role)" \
    "$(truth_growth "$before" "$after" "$role" "$fam")"
}
