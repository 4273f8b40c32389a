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
#   truth_never_above DIR BEFORE SAMPLES ADDR ROLE FAM TYPE
#       one check: at every read, ADDR's TYPE (if_octets or if_packets) rx
#       and tx in the csv of DIR are at most what ROLE's IPv<FAM> truth
#       counters had grown from file BEFORE (a topo_counters output) to
#       the first sample in file SAMPLES (topo_sample_counters) taken after
#       that read; reads after the last sample are not compared (a "# "
#       line counts them)

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

truth_never_above() {
  local dir=$1 before=$2 samples=$3 addr=$4 role=$5 fam=$6 type=$7
  local field=4 base=3 result reads over late first
  [[ $type == if_octets ]] || { field=3 base=2; }
  result=$(paste -d' ' <(csv_values "$dir" "ctflow-$addr/$type" 1) \
    <(csv_values "$dir" "ctflow-$addr/$type" 2 | cut -d' ' -f2) |
    awk -v rxn="${role}_v${fam}_rx" -v txn="${role}_v${fam}_tx" -v f="$field" -v bf="$base" '
      FILENAME == ARGV[1] { if ($1 == rxn) brx = $bf; if ($1 == txn) btx = $bf; next }
      FILENAME == ARGV[2] {
        if (!($1 in seen)) { seen[$1] = 1; t[ns++] = $1 }
        if ($2 == rxn) rx[$1] = $f - brx
        if ($2 == txn) tx[$1] = $f - btx
        next }
      {
        while (i < ns && t[i] < $1) i++
        if (i == ns) { late++; next }
        reads++
        if ($2 > rx[t[i]]) { over++; if (!first) first = $1 " rx " $2 " > " rx[t[i]] }
        if ($3 > tx[t[i]]) { over++; if (!first) first = $1 " tx " $3 " > " tx[t[i]] }
      }
      END { printf "%d %d %d %s\n", reads, over, late, first; exit over > 0 }' \
      "$before" "$samples" -) || true
  read -r reads over late first <<<"$result"
  if [[ $over == 0 && $reads -gt 0 ]]; then
    ctfi_ok "$addr ($role) $type rx and tx never above the nft counters at any of $reads reads"
  else
    ctfi_not_ok "$addr ($role) $type above the nft counters at $over of $reads reads (first: $first)"
  fi
  [[ $late == 0 ]] || echo "# $addr $type: $late reads after the last sample, not compared"
}
