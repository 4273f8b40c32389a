/* fuzz_kernel_stats.c: libFuzzer target over the kernel's statistics
 * replies (plugin/kernel_stats.c).
 *
 * Input: one datagram as the reply to IPCTNL_MSG_CT_GET_STATS_CPU (one
 * message per CPU) or IPCTNL_MSG_CT_GET_STATS (one message) arrives; the
 * captured tests/fixtures/stats-cpu.bin and stats-global.bin seed it.
 *
 * What runs: nlsock_messages_fit() -> mnl_cb_run() -> the callbacks
 * collector.c's read_kernel_stats() gives each request
 * (kernel_stats_add_cpu(), kernel_stats_set_global()), both over every
 * input, then kernel_stat_name() for every statistic reported, as
 * ctflow.c's dispatch does.
 *
 * Beyond the sanitizers, it checks what the series rely on: a statistic is
 * reported only with a name (so ctflow.c never dispatches a NULL type
 * instance), and the two kinds of message fill their own figures only.
 *
 *   build/fuzz/tests/fuzz/fuzz_kernel_stats CORPUS_DIR   (tests/fuzz/run.sh) */
#include <stdio.h>
#include <stdlib.h>

#include "datagram.h"
#include "kernel_stats.h"

static int on_cpu_stats(const struct nlmsghdr *nlh, void *arg) {
  return kernel_stats_add_cpu(arg, nlh) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int on_global_stats(const struct nlmsghdr *nlh, void *arg) {
  return kernel_stats_set_global(arg, nlh) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static void fail(const char *what) {
  fprintf(stderr, "fuzz_kernel_stats: %s\n", what);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  void *buf = fuzz_exact_copy(data, size);
  struct kernel_stats k = {0};
  if (fuzz_run_datagram(buf, size, on_cpu_stats, &k) == MNL_CB_ERROR)
    k.have_cpu = false; /* as read_kernel_stats() does on an error */
  for (unsigned s = 0; s <= CTA_STATS_MAX; s++)
    if (k.reported & (1u << s) && kernel_stat_name(s) == NULL)
      fail("a statistic without a name was reported");
  if (k.reported >> (CTA_STATS_MAX + 1) != 0)
    fail("a statistic beyond CTA_STATS_MAX was reported");
  struct kernel_stats g = {0};
  fuzz_run_datagram(buf, size, on_global_stats, &g);
  if (g.reported != 0 || g.have_cpu)
    fail("a global statistics message changed the per-CPU figures");
  free(buf);
  return 0;
}
