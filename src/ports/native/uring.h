/*
 * UringBurst: one io_uring per TAP Io (io.cc), so that a whole burst of reads
 * or a whole burst of writes costs one io_uring_enter instead of one read()
 * or write() per frame. Built only when liburing is found (binding.gyp
 * defines LINC_HAVE_URING); without it Open() fails with ENOSYS and the Io
 * keeps its read/write loop.
 *
 * Invariants
 * - The fd is O_NONBLOCK, so every read and write completes inside the
 *   io_uring_enter that submitted it (a read with no frame waiting completes
 *   with -EAGAIN, it is never parked): when Rx/Tx return, the kernel holds
 *   no request and no pool byte is written any more (the pool's slot
 *   ownership is unchanged).
 * - Rx/Tx have the meaning of Io's read/write loop (io.cc): the same
 *   counts, the same status fields, received frames compacted in order.
 * - The pool is registered as one fixed buffer when the kernel lets us pin
 *   it (fixed_buffers()), and the fd as fixed file 0 when it lets us. A
 *   ring's teardown is asynchronous in the kernel, and a registered file
 *   would keep a TAP the switch created alive for a moment after its fd is
 *   closed: the destructor unregisters the file first (synchronous, no
 *   request is in flight), and the Io destroys the ring before giving the
 *   fd up.
 */

#ifndef LINC_NATIVE_URING_H_
#define LINC_NATIVE_URING_H_

#include <stddef.h>
#include <stdint.h>

#include <memory>

#include "burst.h"

namespace linc {

class UringBurst {
 public:
  /* A ring for `fd` sized to `burst`; nullptr and *err (positive errno) when the kernel or the build has none. */
  static std::unique_ptr<UringBurst> Open(int fd, const BurstArrays& arrays, uint32_t burst, int* err);
  virtual ~UringBurst() = default;
  /* Up to n reads in one io_uring_enter: frames received, or -errno (as Io's TAP read loop). */
  virtual int Rx(uint32_t n) = 0;
  /* n writes in one io_uring_enter: frames the kernel took, or -errno (as Io's TAP write loop). */
  virtual int Tx(uint32_t n) = 0;
  virtual bool fixed_buffers() const = 0;
};

}  // namespace linc

#endif  // LINC_NATIVE_URING_H_
