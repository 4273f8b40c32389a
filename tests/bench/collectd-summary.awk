# collectd-summary.awk: the tables of tests/bench/collectd.sh, in
# markdown, from its runs.tsv (collectd.sh prints them at the end; run
# `awk -f tests/bench/collectd-summary.awk .../runs.tsv` to print them
# again).
#
# A line of runs.tsv is one run of one collectd, tab-separated:
#   1  "ENTRIES HOSTS WRITERS REP" (ENTRIES 0: the baseline, an empty
#      namespace)
#   2  ctflow-self/duration-read of the first read, s
#   3  duration-read of the measured reads: "MEDIAN LOWEST HIGHEST", s
#   4  the bare dump's wall time, the same three, s
#   5  the bare dump's CPU time, the same three, s
#   6  collectd's CPU time from its start to just before its second read, s
#   7  collectd's CPU time per measured interval, s
#   8  VmRSS, 9  VmHWM after the measured reads, KiB
#   10 reads the writers were behind at the end, 11 flows tracked,
#   12 hosts refused a bucket
#
# Every figure is the median over the repetitions, then its spread:
# "median (lowest-highest)".
#
# collectd's own work per interval, subtracted from the CPU time of every
# collectd reading a table, is the baseline's CPU per interval less the
# bare dump of its empty namespace. The kernel keeps one hash table for
# every namespace, and a dump walks all its buckets: that walk is part of
# any dump, the full namespace's bare dump included, and stays in the
# full collectd's figure as it does in the dump's.

BEGIN { FS = "\t" }

# Returns the median of the numbers in list (blank-separated); sets lo and
# hi to the lowest and highest.
function med(list,   n, v, i, j, t) {
  n = split(list, v, " ")
  for (i = 2; i <= n; i++)
    for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
      t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
    }
  lo = v[1]; hi = v[n]
  return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

function fig(list, fmt,   m) {
  m = med(list)
  return sprintf(fmt " (" fmt "-" fmt ")", m, lo, hi)
}

function commas(n,   s) {
  s = sprintf("%d", n)
  while (s ~ /[0-9][0-9][0-9][0-9]/)
    sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
  return s
}

{
  split($1, l, " "); split($3, d, " "); split($4, dw, " "); split($5, dc, " ")
  w = l[3]
  if (l[1] == 0) {
    own[w] = own[w] " " ($7 - dc[1]); own_first[w] = own_first[w] " " ($6 - dc[1])
    base_rss[w] = base_rss[w] " " $8; base_hwm[w] = base_hwm[w] " " $9
    base_dur[w] = base_dur[w] " " d[1]; base_dump[w] = base_dump[w] " " dc[1]
    base_cpu[w] = base_cpu[w] " " $7
    next
  }
  k = l[1] SUBSEP l[2] SUBSEP w
  if (!(k in runs)) order[++keys] = k
  runs[k] = runs[k] " " NR
  line[NR] = $0
  if ($10 > 0) behind[k] += $10
}

# Appends to the lists of run key k: dur, wall, dcpu, cpu (less collectd's
# own work), rss and hwm (less the baseline's), and the ratios.
function gather(k,   r, nr, j, x, p, w, d, dw, dc, steady) {
  split(k, p, SUBSEP); w = p[3]
  dur = wall = dcpu = cpu = rss = hwm = r_dur = r_cpu = r_rss = r_first_dur = r_first_cpu = ""
  nr = split(runs[k], r, " ")
  for (j = 1; j <= nr; j++) {
    split(line[r[j]], x, "\t"); split(x[3], d, " "); split(x[4], dw, " "); split(x[5], dc, " ")
    steady = x[7] - b_own[w]
    dur = dur " " d[1]; wall = wall " " dw[1]; dcpu = dcpu " " dc[1]
    cpu = cpu " " steady
    rss = rss " " (x[8] - b_rss[w]); hwm = hwm " " (x[9] - b_hwm[w])
    r_dur = r_dur " " d[1] / dw[1]
    r_cpu = r_cpu " " steady / dc[1]
    r_rss = r_rss " " (x[8] - b_rss[w]) * 1024 / p[1]
    r_first_dur = r_first_dur " " x[2] / d[1]
    r_first_cpu = r_first_cpu " " (x[6] - b_own_first[w]) / steady
  }
}

END {
  for (w in own) {
    b_own[w] = med(own[w]); b_own_first[w] = med(own_first[w])
    b_rss[w] = med(base_rss[w]); b_hwm[w] = med(base_hwm[w])
  }
  print "| table | local hosts | writers | duration-read / dump | collectd CPU per read / dump | RSS per entry | first read / steady read |"
  print "|---|---|---|---|---|---|---|"
  for (i = 1; i <= keys; i++) {
    gather(order[i]); split(order[i], p, SUBSEP)
    printf "| %s | %s | %s | %s | %s | %s B | duration %s, CPU %s |\n",
      commas(p[1]), commas(p[2]), p[3], fig(r_dur, "%.2f"), fig(r_cpu, "%.2f"),
      fig(r_rss, "%.0f"), fig(r_first_dur, "%.2f"), fig(r_first_cpu, "%.2f")
  }
  print ""
  print "| table | local hosts | writers | duration-read | bare dump, wall | bare dump, CPU | collectd CPU per read, less its own work | VmRSS, less the baseline's | VmHWM, less the baseline's |"
  print "|---|---|---|---|---|---|---|---|---|"
  for (i = 1; i <= keys; i++) {
    gather(order[i]); split(order[i], p, SUBSEP)
    printf "| %s | %s | %s | %s s | %s s | %s s | %s s | %s KiB | %s KiB |\n",
      commas(p[1]), commas(p[2]), p[3], fig(dur, "%.3f"), fig(wall, "%.3f"),
      fig(dcpu, "%.3f"), fig(cpu, "%.3f"), fig(rss, "%.0f"), fig(hwm, "%.0f")
  }
  print ""
  print "| baseline: an empty namespace | duration-read | bare dump, CPU | collectd CPU per interval | its own work (less the dump) | VmRSS |"
  print "|---|---|---|---|---|---|"
  for (w in own)
    printf "| %s | %s s | %s s | %s s | %s s | %s KiB |\n", w, fig(base_dur[w], "%.4f"),
      fig(base_dump[w], "%.4f"), fig(base_cpu[w], "%.4f"), fig(own[w], "%.4f"),
      fig(base_rss[w], "%.0f")

  # What a host costs: the runs with the most hosts against those with the
  # fewest, for each table and writers, repetition by repetition.
  most = fewest = 0
  for (i = 1; i <= keys; i++) {
    split(order[i], p, SUBSEP)
    if (p[2] + 0 > most) most = p[2] + 0
    if (fewest == 0 || p[2] + 0 < fewest) fewest = p[2] + 0
  }
  if (most > fewest) {
    printf "\nWhat a host costs: %s local hosts against %s, the same table.\n\n",
      commas(most), commas(fewest)
    print "| table | writers | collectd CPU per host and read | per value list (9 a host) | RSS per host |"
    print "|---|---|---|---|---|"
    for (i = 1; i <= keys; i++) {
      split(order[i], p, SUBSEP)
      kf = p[1] SUBSEP fewest SUBSEP p[3]
      if (p[2] + 0 != most || !(kf in runs)) continue
      gather(kf); split(cpu, cf, " "); split(rss, rf, " ")
      gather(order[i]); nm = split(cpu, cm, " "); split(rss, rm, " ")
      u = v = s = ""
      for (j = 1; j <= nm; j++) {
        u = u " " (cm[j] - cf[j]) / (most - fewest) * 1e6
        v = v " " (cm[j] - cf[j]) / (most - fewest) / 9 * 1e6
        s = s " " (rm[j] - rf[j]) * 1024 / (most - fewest)
      }
      printf "| %s | %s | %s us | %s us | %s B |\n", commas(p[1]), p[3],
        fig(u, "%.0f"), fig(v, "%.1f"), fig(s, "%.0f")
    }
  }
  for (i = 1; i <= keys; i++)
    if (behind[order[i]] > 0) {
      split(order[i], p, SUBSEP)
      printf "\nWarning: with %s entries, %s hosts and %s, the writers were behind the reads at the end of a run (%d reads in all): the CPU per read is what collectd got, not what it needed.\n",
        commas(p[1]), commas(p[2]), p[3], behind[order[i]]
    }
}
