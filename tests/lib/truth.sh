# shellcheck shell=bash
# truth.sh: ctflow's per-host series against the topology's ground truth,
# the router's per-address nftables counters (topology.sh). Source
# topology.sh and collectd.sh first.
#
#   truth_host DIR BEFORE AFTER ROLE FAM [EPOCH]
#       four ctfi_close lines: the bytes and packets ROLE's IPv<FAM> address
#       received and sent, in the csv of the collectd in DIR
#       (ctflow-<addr>/if_octets, if_packets; at the read at EPOCH, or the
#       last line), against the growth of its truth counters
#       <ROLE>_v<FAM>_rx and _tx from file BEFORE to file AFTER (saved
#       topo_counters outputs)

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

truth_host() {
  local dir=$1 before=$2 after=$3 role=$4 fam=$5 epoch=${6:-} addr
  local tx_pkts tx_bytes rx_pkts rx_bytes
  if [[ $fam == 4 ]]; then addr=${TOPO_V4[$role]}; else addr=${TOPO_V6[$role]}; fi
  read -r tx_pkts tx_bytes <<<"$(topo_growth "$before" "$after" "${role}_v${fam}_tx")"
  read -r rx_pkts rx_bytes <<<"$(topo_growth "$before" "$after" "${role}_v${fam}_rx")"
  ctfi_close "$addr ($role) received bytes" \
    "$(_truth_value "$dir" "ctflow-$addr/if_octets" "$epoch" 1)" "$rx_bytes"
  ctfi_close "$addr ($role) sent bytes" \
    "$(_truth_value "$dir" "ctflow-$addr/if_octets" "$epoch" 2)" "$tx_bytes"
  ctfi_close "$addr ($role) received packets" \
    "$(_truth_value "$dir" "ctflow-$addr/if_packets" "$epoch" 1)" "$rx_pkts"
  ctfi_close "$addr ($role) sent packets" \
    "$(_truth_value "$dir" "ctflow-$addr/if_packets" "$epoch" 2)" "$tx_pkts"
}
