/*
 * fwd-ring.c: fwd's packet-ring mode. Each AF_PACKET socket gets a
 * TPACKET_V3 receive ring (blocks the kernel fills and retires, after at most
 * RETIRE_MS) and a TPACKET_V3 transmit ring (fixed-size frames), both in one
 * mmap. Every retired receive block is walked frame by frame, each frame
 * copied into the next free frame of the other socket's tx ring (a full tx
 * ring drops it), the block handed back to the kernel, and one send() kicks
 * the tx ring. With --vnet each frame carries its virtio_net_hdr (the rx
 * ring puts it just before the frame, the tx ring takes it first), so
 * partial checksums pass; GSO frames larger than a tx frame count as
 * truncated. VLAN tags the kernel stripped are not put back (the benchmark's
 * frames are untagged).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include "fwd.h"

#define RX_BLOCK_SIZE (1 << 16)
#define RX_BLOCKS 64
#define RETIRE_MS 1
#define TX_FRAME_SIZE 2048
#define TX_BLOCK_SIZE (1 << 16)
#define TX_BLOCKS 16
#define TX_FRAMES (TX_BLOCKS * (TX_BLOCK_SIZE / TX_FRAME_SIZE))
#define TX_DATA_OFFSET (TPACKET3_HDRLEN - sizeof(struct sockaddr_ll))
#define VNET_HDR_LEN 10

static unsigned vnet_len;  /* VNET_HDR_LEN with --vnet, else 0 */

struct rings {
  const char *name;
  int fd;
  unsigned char *rx, *tx;
  unsigned rx_block, tx_frame;   /* next block to read, next tx frame to fill */
};

static void set_up(struct rings *r, const char *name, int fd) {
  int version = TPACKET_V3;
  r->name = name;
  r->fd = fd;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) die("PACKET_VERSION", name);
  struct tpacket_req3 rx = {.tp_block_size = RX_BLOCK_SIZE, .tp_block_nr = RX_BLOCKS, .tp_frame_size = TX_FRAME_SIZE,
                            .tp_frame_nr = RX_BLOCKS * (RX_BLOCK_SIZE / TX_FRAME_SIZE), .tp_retire_blk_tov = RETIRE_MS};
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &rx, sizeof rx) < 0) die("PACKET_RX_RING", name);
  struct tpacket_req3 tx = {.tp_block_size = TX_BLOCK_SIZE, .tp_block_nr = TX_BLOCKS, .tp_frame_size = TX_FRAME_SIZE, .tp_frame_nr = TX_FRAMES};
  if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &tx, sizeof tx) < 0) die("PACKET_TX_RING", name);
  size_t rx_len = (size_t)RX_BLOCK_SIZE * RX_BLOCKS, tx_len = (size_t)TX_BLOCK_SIZE * TX_BLOCKS;
  unsigned char *map = mmap(NULL, rx_len + tx_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (map == MAP_FAILED) die("mmap rings of", name);
  r->rx = map;
  r->tx = map + rx_len;
  r->rx_block = r->tx_frame = 0;
}

static struct tpacket3_hdr *tx_frame(struct rings *r, unsigned i) {
  return (struct tpacket3_hdr *)(r->tx + (size_t)i * TX_FRAME_SIZE);
}

/* Forwards every retired block of `from` into `to`'s tx ring; returns the frames queued. */
static unsigned pump(struct rings *from, struct rings *to, struct dir *d) {
  unsigned queued = 0;
  for (;;) {
    struct tpacket_block_desc *b = (struct tpacket_block_desc *)(from->rx + (size_t)from->rx_block * RX_BLOCK_SIZE);
    if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) break;
    struct tpacket3_hdr *f = (struct tpacket3_hdr *)((unsigned char *)b + b->hdr.bh1.offset_to_first_pkt);
    for (unsigned i = 0; i < b->hdr.bh1.num_pkts; i++) {
      unsigned len = f->tp_snaplen + vnet_len;
      struct tpacket3_hdr *t = tx_frame(to, to->tx_frame);
      if (f->tp_snaplen != f->tp_len || len > TX_FRAME_SIZE - TX_DATA_OFFSET) d->trunc++;
      else if (__atomic_load_n(&t->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) d->drop++;
      else {
        memcpy((unsigned char *)t + TX_DATA_OFFSET, (unsigned char *)f + f->tp_mac - vnet_len, len);
        t->tp_len = len;
        t->tp_snaplen = len;
        t->tp_next_offset = 0;
        __atomic_store_n(&t->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
        to->tx_frame = (to->tx_frame + 1) % TX_FRAMES;
        queued++;
      }
      f = (struct tpacket3_hdr *)((unsigned char *)f + f->tp_next_offset);
    }
    __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    from->rx_block = (from->rx_block + 1) % RX_BLOCKS;
  }
  if (queued > 0) {
    while (send(to->fd, NULL, 0, MSG_DONTWAIT) < 0 && errno == EINTR) {}
    d->fwd += queued;  /* queued in the tx ring; frames the kernel rejects come back below */
  }
  return queued;
}

/* Frames the kernel refused (TP_STATUS_WRONG_FORMAT) are freed and counted as drops. */
static void reap_rejected(struct rings *r, struct dir *d) {
  for (unsigned i = 0; i < TX_FRAMES; i++) {
    struct tpacket3_hdr *t = tx_frame(r, i);
    if (__atomic_load_n(&t->tp_status, __ATOMIC_ACQUIRE) == TP_STATUS_WRONG_FORMAT) {
      __atomic_store_n(&t->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELEASE);
      d->fwd--;
      d->drop++;
    }
  }
}

void run_ring(struct dir *ab, struct dir *ba, int vnet) {
  struct rings a, b;
  vnet_len = vnet ? VNET_HDR_LEN : 0;
  set_up(&a, ab->from_name, ab->from);
  set_up(&b, ba->from_name, ba->from);
  printf("ready\n");
  fflush(stdout);
  struct pollfd pfd[2] = {{.fd = a.fd, .events = POLLIN}, {.fd = b.fd, .events = POLLIN}};
  while (!stop_requested) {
    int r = poll(pfd, 2, 100);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("poll", ab->from_name);
    }
    pump(&a, &b, ab);
    pump(&b, &a, ba);
  }
  reap_rejected(&b, ab);
  reap_rejected(&a, ba);
}
