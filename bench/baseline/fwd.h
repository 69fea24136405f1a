/* fwd.h: what fwd.c shares with its io_uring (fwd-uring.c) and TPACKET ring (fwd-ring.c) modes. */
#ifndef FWD_H
#define FWD_H
#include <signal.h>

#define BATCH 32
#define BUF_SIZE (65536 + 512)     /* a 64 KiB GSO frame, its L2 header and vnet header */

/* One direction of forwarding and its counts. */
struct dir {
  const char *from_name, *to_name;
  int from, to;
  unsigned long long fwd, drop, trunc;
};

extern volatile sig_atomic_t stop_requested;
void die(const char *what, const char *name);
int open_packet(const char *name);

/* Each prints "ready" once set up and returns when stop_requested is set. */
void run_uring(struct dir *ab, struct dir *ba);
void run_ring(struct dir *ab, struct dir *ba, int vnet);
#endif
