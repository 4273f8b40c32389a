/* check_nlsock.c: what ctflow's netlink sockets accept. Messages are
 * measured against the bytes received before anything parses them, and
 * datagrams are taken only from the kernel: a netlink socket can be sent
 * datagrams by any process with CAP_NET_ADMIN. The socket tests run in a
 * fresh network namespace of their own (namespaces.h); they need root,
 * nf_conntrack and nf_conntrack_netlink. */
#include "namespaces.h"

#include <stdlib.h>
#include <sys/socket.h>

#include "ctnetlink.h"
#include "entries.h"
#include "fixture.h"
#include "kernel_table.h"
#include "netns.h"
#include "nlsock.h"

/* Two messages back to back, as a dump batch holds them: an 8-byte
 * payload each. */
static _Alignas(8) char batch[64];

static struct nlmsghdr *message(size_t offset, uint32_t len) {
  struct nlmsghdr *nlh = (struct nlmsghdr *)(batch + offset);
  nlh->nlmsg_len = len;
  return nlh;
}

static void fill_batch(void) {
  memset(batch, 0, sizeof(batch));
  message(0, NLMSG_HDRLEN + 8);
  message(NLMSG_HDRLEN + 8, NLMSG_HDRLEN + 8);
}

#define BATCH_LEN (2 * (NLMSG_HDRLEN + 8))

START_TEST(whole_messages_fit) {
  fill_batch();
  ck_assert(nlsock_messages_fit(batch, BATCH_LEN));
}
END_TEST

START_TEST(a_last_message_without_its_padding_fits) {
  fill_batch();
  message(NLMSG_HDRLEN + 8, NLMSG_HDRLEN + 5);
  ck_assert(nlsock_messages_fit(batch, BATCH_LEN - 3));
}
END_TEST

START_TEST(a_message_longer_than_what_was_received_does_not_fit) {
  fill_batch();
  ck_assert(!nlsock_messages_fit(batch, BATCH_LEN - 4));
}
END_TEST

/* libmnl 1.0.4's mnl_nlmsg_ok() casts nlmsg_len to int: 2^31 and more
 * pass its check as negative numbers, and its walk runs off the buffer. */
START_TEST(a_message_claiming_2_to_the_31_bytes_does_not_fit) {
  fill_batch();
  message(NLMSG_HDRLEN + 8, 0x80000000u);
  ck_assert(!nlsock_messages_fit(batch, BATCH_LEN));
}
END_TEST

START_TEST(a_message_shorter_than_its_header_does_not_fit) {
  fill_batch();
  message(NLMSG_HDRLEN + 8, NLMSG_HDRLEN - 1);
  ck_assert(!nlsock_messages_fit(batch, BATCH_LEN));
}
END_TEST

START_TEST(a_header_cut_off_by_the_end_does_not_fit) {
  fill_batch();
  ck_assert(!nlsock_messages_fit(batch, NLMSG_HDRLEN + 8 + 6));
}
END_TEST

/* The sockets */

static int table_ns;

static void setup_namespace(void) {
  table_ns = netns_fresh();
  int saved;
  ck_assert_int_eq(netns_enter(table_ns, &saved), 0);
  close(saved);
}

static void teardown_namespace(void) { close(table_ns); }

/* Sends msg (len bytes) from a socket of a process's own, not the
 * kernel's, to port ID to. */
static void send_from_user(uint32_t to, const void *msg, size_t len) {
  struct mnl_socket *from = nlsock_open(-1);
  ck_assert_ptr_nonnull(from);
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_pid = to};
  ck_assert_int_eq(sendto(mnl_socket_get_fd(from), msg, len, 0,
                          (struct sockaddr *)&addr, sizeof(addr)),
                   (ssize_t)len);
  mnl_socket_close(from);
}

/* Sends a NOOP message of len bytes (zeros after its header). */
static void send_noop_from_user(uint32_t to, size_t len) {
  char *msg = calloc(1, len);
  ck_assert_ptr_nonnull(msg);
  struct nlmsghdr *nlh = (struct nlmsghdr *)msg;
  nlh->nlmsg_len = (uint32_t)len;
  nlh->nlmsg_type = NLMSG_NOOP;
  send_from_user(to, msg, len);
  free(msg);
}

START_TEST(a_socket_is_closed_on_exec) {
  struct mnl_socket *nl = nlsock_open(-1);
  ck_assert_ptr_nonnull(nl);
  ck_assert(fcntl(mnl_socket_get_fd(nl), F_GETFD) & FD_CLOEXEC);
  mnl_socket_close(nl);
}
END_TEST

START_TEST(a_datagram_names_its_sender) {
  struct mnl_socket *nl = nlsock_open(-1);
  ck_assert_ptr_nonnull(nl);
  send_noop_from_user(mnl_socket_get_portid(nl), NLMSG_HDRLEN);
  _Alignas(8) char buf[256];
  uint32_t sender = NLSOCK_KERNEL;
  ck_assert_int_eq(nlsock_receive(nl, buf, sizeof(buf), 0, &sender),
                   NLMSG_HDRLEN);
  ck_assert_uint_ne(sender, NLSOCK_KERNEL);
  mnl_socket_close(nl);
}
END_TEST

START_TEST(a_datagram_longer_than_the_buffer_is_an_error) {
  struct mnl_socket *nl = nlsock_open(-1);
  ck_assert_ptr_nonnull(nl);
  send_noop_from_user(mnl_socket_get_portid(nl), 1024);
  _Alignas(8) char buf[256];
  uint32_t sender;
  ck_assert_int_eq(nlsock_receive(nl, buf, sizeof(buf), 0, &sender), -1);
  ck_assert_int_eq(errno, EMSGSIZE);
  mnl_socket_close(nl);
}
END_TEST

static struct ctnetlink ct; /* 32 KiB buffer: not on the stack */

static int count_entry(const struct nlmsghdr *nlh, void *arg) {
  (void)nlh;
  (*(int *)arg)++;
  return MNL_CB_OK;
}

START_TEST(a_dump_drops_what_another_process_sent_its_socket) {
  table_load(&(struct table_tuple){AF_INET, IPPROTO_TCP, "10.0.0.1", "10.0.0.2",
                                   1000, 80},
             0, 0);
  memset(&ct, 0, sizeof(ct));
  ck_assert_int_eq(ctnetlink_open(&ct, -1), 0);
  /* Waiting in the queue before the kernel's answer: a forged entry, a
   * conntrack message as the kernel writes them, with the sequence number
   * and port ID 0 that pass libmnl's checks of a reply. */
  size_t len;
  struct nlmsghdr *forged = fixture_load("ipv4-udp.bin", &len);
  forged->nlmsg_seq = 0;
  forged->nlmsg_pid = 0;
  send_from_user(ct.portid, forged, len);
  free(forged);
  int entries = 0;
  ck_assert_int_eq(ctnetlink_request(&ct, IPCTNL_MSG_CT_GET, NLM_F_DUMP,
                                     count_entry, &entries),
                   0);
  ck_assert_int_eq(entries, 1);
  ck_assert_uint_eq(ct.refused, 1);
  ctnetlink_close(&ct);
}
END_TEST

static Suite *nlsock_suite(void) {
  Suite *s = suite_create("nlsock");
  TCase *fit = tcase_create("messages fit");
  tcase_add_test(fit, whole_messages_fit);
  tcase_add_test(fit, a_last_message_without_its_padding_fits);
  tcase_add_test(fit, a_message_longer_than_what_was_received_does_not_fit);
  tcase_add_test(fit, a_message_claiming_2_to_the_31_bytes_does_not_fit);
  tcase_add_test(fit, a_message_shorter_than_its_header_does_not_fit);
  tcase_add_test(fit, a_header_cut_off_by_the_end_does_not_fit);
  suite_add_tcase(s, fit);
  TCase *sockets = tcase_create("sockets");
  tcase_add_checked_fixture(sockets, setup_namespace, teardown_namespace);
  tcase_add_test(sockets, a_socket_is_closed_on_exec);
  tcase_add_test(sockets, a_datagram_names_its_sender);
  tcase_add_test(sockets, a_datagram_longer_than_the_buffer_is_an_error);
  tcase_add_test(sockets, a_dump_drops_what_another_process_sent_its_socket);
  suite_add_tcase(s, sockets);
  return s;
}

int main(void) { return run_suite(nlsock_suite()); }
