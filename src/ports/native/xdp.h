/*
 * What xdp.cc (the AF_XDP Io) takes from xdp-prog.cc: the bpf() syscall, the
 * hand-assembled XDP program, and one mmap'd AF_XDP ring.
 */

#ifndef LINC_NATIVE_XDP_H_
#define LINC_NATIVE_XDP_H_

#include <linux/bpf.h>
#include <linux/if_xdp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

namespace linc {

/* bpf(cmd, attr): the raw syscall (no libbpf); -1 with errno on failure. */
long Bpf(int cmd, union bpf_attr* attr);

/*
 * Load the XDP program: a frame of more than max_frame bytes -> XDP_PASS;
 * otherwise bpf_redirect_map(map_fd, ctx->rx_queue_index, XDP_PASS). The
 * program fd, or -1 with errno (the verifier's refusal, EPERM without BPF).
 */
int LoadXskRedirectProgram(int map_fd, uint32_t max_frame);

/* One mmap'd AF_XDP ring: producer, consumer, flags words and the descriptor array. */
struct Ring {
  uint32_t* producer = nullptr;
  uint32_t* consumer = nullptr;
  uint32_t* flags = nullptr;
  void* desc = nullptr;
  void* map = nullptr;
  size_t map_len = 0;
  uint32_t mask = 0;

  bool Map(int fd, const struct xdp_ring_offset& off, uint32_t n, size_t desc_size, off_t pgoff) {
    map_len = off.desc + n * desc_size;
    void* m = mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);
    if (m == MAP_FAILED) {
      map_len = 0;
      return false;
    }
    map = m;
    auto* base = static_cast<uint8_t*>(m);
    producer = reinterpret_cast<uint32_t*>(base + off.producer);
    consumer = reinterpret_cast<uint32_t*>(base + off.consumer);
    flags = reinterpret_cast<uint32_t*>(base + off.flags);
    desc = base + off.desc;
    mask = n - 1;
    return true;
  }
  void Unmap() {
    if (map != nullptr) munmap(map, map_len);
    map = nullptr;
    map_len = 0;
  }
  uint64_t* Addrs() const { return static_cast<uint64_t*>(desc); }
  struct xdp_desc* Descs() const { return static_cast<struct xdp_desc*>(desc); }
};

}  // namespace linc

#endif  // LINC_NATIVE_XDP_H_
