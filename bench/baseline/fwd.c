/*
 * fwd: the C baseline the benchmarks compare linc-ts against. It forwards
 * every frame between two ports, A <-> B, with no switching logic at all:
 * what a userspace forwarder costs when the only work is the syscalls.
 *
 *   fwd tap NAME_A NAME_B [--vnet]         two TAPs (created, or attached if persistent)
 *   fwd tap-uring NAME_A NAME_B [--vnet]   the same TAPs driven through io_uring
 *   fwd packet IF_A IF_B [--vnet]          AF_PACKET sockets on two existing interfaces
 *   fwd packet-ring IF_A IF_B [--vnet]     AF_PACKET with TPACKET_V3 rx and tx rings
 *
 * tap:    poll() + a read()/write() loop, up to BATCH frames per wakeup.
 * tap-uring: BATCH reads kept in flight per TAP; each completed read becomes
 *         a write to the other TAP and, once written, a read again; every
 *         io_uring_enter submits all new requests and reaps all completions
 *         (see fwd-uring.c).
 * packet: poll() + recvmmsg()/sendmmsg(), BATCH frames per call; own frames
 *         are never re-received (PACKET_IGNORE_OUTGOING); VLAN tags the kernel
 *         stripped (PACKET_AUXDATA) are put back before sending.
 * packet-ring: poll() + memory-mapped TPACKET_V3 rings: each retired receive
 *         block is copied frame by frame into the other socket's tx ring, and
 *         one send() per block kicks the tx ring (see fwd-ring.c). No VLAN
 *         put-back (the benchmark's frames are untagged).
 * --vnet: frames carry a virtio_net_hdr (IFF_VNET_HDR + TUNSETOFFLOAD csum/tso,
 *         or PACKET_VNET_HDR), so partial checksums and 64 KiB GSO frames
 *         pass through whole.
 *
 * Prints "ready" on stdout once both ports are open; on SIGINT/SIGTERM prints
 * the forwarded and dropped counts to stderr and exits 0.
 * Build: cc -O2 -o bench/baseline/fwd bench/baseline/fwd.c bench/baseline/fwd-uring.c
 *        bench/baseline/fwd-ring.c -luring
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fwd.h"

#define VNET_HDR_LEN 10
#define HEADROOM 4                 /* room to put back a stripped VLAN tag */
#define SOCK_BUF (4 << 20)

volatile sig_atomic_t stop_requested;
static int vnet;
static unsigned char bufs[BATCH][HEADROOM + BUF_SIZE];

static void on_signal(int sig) { (void)sig; stop_requested = 1; }

void die(const char *what, const char *name) {
  fprintf(stderr, "fwd: %s %s: %s\n", what, name, strerror(errno));
  exit(1);
}

static void bring_up(const char *name) {
  struct ifreq ifr;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket", name);
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("SIOCGIFFLAGS", name);
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("SIOCSIFFLAGS", name);
  close(s);
}

/* blocking: for io_uring, which then waits on the TAP itself instead of failing with EAGAIN */
static int open_tap(const char *name, int blocking) {
  struct ifreq ifr;
  int fd = open("/dev/net/tun", O_RDWR | (blocking ? 0 : O_NONBLOCK) | O_CLOEXEC);
  if (fd < 0) die("open /dev/net/tun for", name);
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF", name);
  if (vnet) {
    int sz = VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) die("TUNSETVNETHDRSZ", name);
  }
  if (ioctl(fd, TUNSETOFFLOAD, vnet ? TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN : 0) < 0) die("TUNSETOFFLOAD", name);
  bring_up(name);
  return fd;
}

int open_packet(const char *name) {
  int one = 1, sz = SOCK_BUF;
  int ifindex = (int)if_nametoindex(name);
  if (ifindex == 0) die("no such interface", name);
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket AF_PACKET for", name);
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) die("PACKET_IGNORE_OUTGOING", name);
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) die("PACKET_AUXDATA", name);
  if (vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) die("PACKET_VNET_HDR", name);
  struct packet_mreq mr = {.mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC};
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) die("PACKET_ADD_MEMBERSHIP", name);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex};
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind", name);
  bring_up(name);
  return fd;
}

/* Move one wakeup's worth of frames, TAP to TAP. */
static void pump_tap(struct dir *d) {
  for (int i = 0; i < BATCH; i++) {
    ssize_t n = read(d->from, bufs[0], BUF_SIZE);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) die("read", d->from_name);
      return;
    }
    if (n >= BUF_SIZE) { d->trunc++; continue; }
    if (write(d->to, bufs[0], (size_t)n) == n) d->fwd++;
    else d->drop++;
  }
}

/* Put the stripped tag back: frame (vnet header first when --vnet) starts at p + HEADROOM. */
static unsigned char *put_back_tag(unsigned char *p, unsigned *len, const struct tpacket_auxdata *aux) {
  unsigned hdr = vnet ? VNET_HDR_LEN : 0;
  uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : ETH_P_8021Q;
  if (*len < hdr + 12) return p + HEADROOM;
  memmove(p, p + HEADROOM, hdr + 12);
  p[hdr + 12] = tpid >> 8;
  p[hdr + 13] = tpid & 0xff;
  p[hdr + 14] = aux->tp_vlan_tci >> 8;
  p[hdr + 15] = aux->tp_vlan_tci & 0xff;
  *len += 4;
  if (vnet && (p[0] & 1)) {  /* VIRTIO_NET_HDR_F_NEEDS_CSUM: csum_start (LE u16 at 6) moved by 4 */
    unsigned cs = (p[6] | (p[7] << 8)) + 4;
    p[6] = cs & 0xff;
    p[7] = cs >> 8;
  }
  return p;
}

/* Move one batch, interface to interface. */
static void pump_packet(struct dir *d) {
  static struct mmsghdr rx[BATCH], tx[BATCH];
  static struct iovec riov[BATCH], tiov[BATCH];
  static unsigned char ctl[BATCH][CMSG_SPACE(sizeof(struct tpacket_auxdata))];
  for (int i = 0; i < BATCH; i++) {
    riov[i].iov_base = bufs[i] + HEADROOM;
    riov[i].iov_len = BUF_SIZE;
    memset(&rx[i].msg_hdr, 0, sizeof rx[i].msg_hdr);
    rx[i].msg_hdr.msg_iov = &riov[i];
    rx[i].msg_hdr.msg_iovlen = 1;
    rx[i].msg_hdr.msg_control = ctl[i];
    rx[i].msg_hdr.msg_controllen = sizeof ctl[i];
  }
  int n = recvmmsg(d->from, rx, BATCH, MSG_DONTWAIT, NULL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR && errno != ENETDOWN) die("recvmmsg", d->from_name);
    return;
  }
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (rx[i].msg_hdr.msg_flags & MSG_TRUNC) { d->trunc++; continue; }
    unsigned len = rx[i].msg_len;
    unsigned char *start = bufs[i] + HEADROOM;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&rx[i].msg_hdr); c; c = CMSG_NXTHDR(&rx[i].msg_hdr, c)) {
      struct tpacket_auxdata aux;
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      memcpy(&aux, CMSG_DATA(c), sizeof aux);
      if (aux.tp_status & TP_STATUS_VLAN_VALID) start = put_back_tag(bufs[i], &len, &aux);
    }
    tiov[m].iov_base = start;
    tiov[m].iov_len = len;
    memset(&tx[m].msg_hdr, 0, sizeof tx[m].msg_hdr);
    tx[m].msg_hdr.msg_iov = &tiov[m];
    tx[m].msg_hdr.msg_iovlen = 1;
    m++;
  }
  int i = 0, ok = 0;
  while (i < m) {
    int r = sendmmsg(d->to, tx + i, m - i, MSG_DONTWAIT);
    if (r > 0) { i += r; ok += r; continue; }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EINVAL || errno == EMSGSIZE)) { i++; continue; }  /* one bad frame: skip it */
    break;  /* EAGAIN / ENOBUFS / link down: the rest are drops */
  }
  d->fwd += ok;
  d->drop += m - ok;
}

static void report(const struct dir *ab, const struct dir *ba) {
  fprintf(stderr, "fwd: %s -> %s: %llu forwarded, %llu dropped, %llu truncated\n", ab->from_name, ab->to_name, ab->fwd, ab->drop, ab->trunc);
  fprintf(stderr, "fwd: %s -> %s: %llu forwarded, %llu dropped, %llu truncated\n", ba->from_name, ba->to_name, ba->fwd, ba->drop, ba->trunc);
}

int main(int argc, char **argv) {
  const char *mode = argc >= 4 ? argv[1] : "";
  const int tap = strcmp(mode, "tap") == 0, uring = strcmp(mode, "tap-uring") == 0, ring = strcmp(mode, "packet-ring") == 0;
  vnet = argc > 4 && strcmp(argv[4], "--vnet") == 0;
  if (!tap && !uring && !ring && strcmp(mode, "packet") != 0) {
    fprintf(stderr, "usage: fwd tap|tap-uring NAME_A NAME_B [--vnet] | fwd packet IF_A IF_B [--vnet] | fwd packet-ring IF_A IF_B [--vnet]\n");
    return 2;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;  /* no SA_RESTART: poll() returns EINTR */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  int a = tap || uring ? open_tap(argv[2], uring) : open_packet(argv[2]);
  int b = tap || uring ? open_tap(argv[3], uring) : open_packet(argv[3]);
  struct dir ab = {argv[2], argv[3], a, b, 0, 0, 0}, ba = {argv[3], argv[2], b, a, 0, 0, 0};
  if (uring || ring) {
    if (uring) run_uring(&ab, &ba);
    else run_ring(&ab, &ba, vnet);
    report(&ab, &ba);
    return 0;
  }
  printf("ready\n");
  fflush(stdout);

  struct pollfd pfd[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
  while (!stop_requested) {
    int r = poll(pfd, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("poll", argv[2]);
    }
    for (int i = 0; i < 2; i++) {
      if (pfd[i].revents & POLLERR) {
        int err;
        socklen_t l = sizeof err;
        if (tap) { fprintf(stderr, "fwd: %s is gone\n", argv[2 + i]); stop_requested = 1; break; }
        getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err, &l);  /* e.g. ENETDOWN: clear and go on */
      }
      if (pfd[i].revents & POLLIN) {
        struct dir *d = i == 0 ? &ab : &ba;
        if (tap) pump_tap(d);
        else pump_packet(d);
      }
    }
  }
  report(&ab, &ba);
  close(a);
  close(b);
  return 0;
}
