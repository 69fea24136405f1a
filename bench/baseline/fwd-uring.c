/*
 * fwd-uring.c: fwd's tap-uring mode. BATCH reads are kept in flight on each
 * TAP (opened blocking, so io_uring waits on the TAP instead of returning
 * EAGAIN); a completed read turns its buffer into a write to the other TAP,
 * and a completed write turns it back into a read. One io_uring_enter per
 * loop submits every new request and waits for at least one completion; all
 * completions ready are then reaped together. Any io-wq workers are kept on
 * the forwarder's own CPUs (its affinity, e.g. from taskset).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <sched.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include "fwd.h"

#define RING_ENTRIES (4 * BATCH)

static unsigned char ubufs[2][BATCH][BUF_SIZE];
static unsigned lens[2][BATCH];

/* user_data: direction (bit 16), slot (bits 1..15), 1 = write (bit 0) */
static void queue_read(struct io_uring *ring, struct dir *d, int di, int slot) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  if (!sqe) die("io_uring_get_sqe", d->from_name);
  io_uring_prep_read(sqe, d->from, ubufs[di][slot], BUF_SIZE, 0);
  io_uring_sqe_set_data64(sqe, ((uint64_t)di << 16) | ((uint64_t)slot << 1));
}

static void queue_write(struct io_uring *ring, struct dir *d, int di, int slot) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  if (!sqe) die("io_uring_get_sqe", d->to_name);
  io_uring_prep_write(sqe, d->to, ubufs[di][slot], lens[di][slot], 0);
  io_uring_sqe_set_data64(sqe, ((uint64_t)di << 16) | ((uint64_t)slot << 1) | 1);
}

void run_uring(struct dir *ab, struct dir *ba) {
  struct dir *dirs[2] = {ab, ba};
  struct io_uring ring;
  int r = io_uring_queue_init(RING_ENTRIES, &ring, 0);
  if (r < 0) { errno = -r; die("io_uring_queue_init for", ab->from_name); }
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) io_uring_register_iowq_aff(&ring, sizeof cpus, &cpus);
  for (int di = 0; di < 2; di++)
    for (int s = 0; s < BATCH; s++) queue_read(&ring, dirs[di], di, s);
  printf("ready\n");
  fflush(stdout);
  while (!stop_requested) {
    r = io_uring_submit_and_wait(&ring, 1);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) { errno = -r; die("io_uring_enter for", ab->from_name); }
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      uint64_t u = io_uring_cqe_get_data64(cqe);
      int di = (int)(u >> 16), slot = (int)((u >> 1) & 0x7fff), is_write = (int)(u & 1);
      struct dir *d = dirs[di];
      int res = cqe->res;
      if (is_write) {
        if (res == (int)lens[di][slot]) d->fwd++;
        else d->drop++;
        queue_read(&ring, d, di, slot);
      } else if (res > 0 && res < BUF_SIZE) {
        lens[di][slot] = (unsigned)res;
        queue_write(&ring, d, di, slot);
      } else {
        if (res >= BUF_SIZE) d->trunc++;
        else if (res < 0 && res != -EAGAIN && res != -EINTR) { errno = -res; die("read", d->from_name); }
        queue_read(&ring, d, di, slot);
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
  io_uring_queue_exit(&ring);
}
