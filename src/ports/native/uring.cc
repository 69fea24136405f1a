/*
 * UringBurst (uring.h) with liburing: reads and writes of one burst are
 * prepared as SQEs (fixed buffer when the pool is registered, fixed file
 * when the fd is), submitted with one io_uring_enter (through the
 * registered ring fd when the kernel has it), and their CQEs reaped before
 * returning. Each SQE's user_data is its burst position.
 */

#include "uring.h"

#include <errno.h>
#include <string.h>

#include "layout.h"

#ifdef LINC_HAVE_URING
#include <liburing.h>
#include <sys/uio.h>
#endif

namespace linc {

#ifdef LINC_HAVE_URING

namespace {

class LiburingBurst : public UringBurst {
 public:
  LiburingBurst(const BurstArrays& a) : a_(a) {}
  ~LiburingBurst() override {
    if (!ring_ok_) return;
    // Drop the ring's reference to the fd now: the ring's own teardown is
    // asynchronous, and the fd's close must be the last reference to a TAP.
    if (fixed_file_) io_uring_unregister_files(&ring_);
    io_uring_queue_exit(&ring_);
  }

  int Init(int fd, uint32_t burst) {
    // One issuer (the main loop) and no task-work interrupts: cheaper where the kernel has them.
    int r = io_uring_queue_init(burst, &ring_, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN);
    if (r == -EINVAL) r = io_uring_queue_init(burst, &ring_, 0);
    if (r < 0) return -r;
    ring_ok_ = true;
    fd_ = fd;
    struct iovec iov = {a_.pool, a_.pool_len};
    fixed_ = a_.pool_len > 0 && io_uring_register_buffers(&ring_, &iov, 1) == 0;
    // Per request, a registered file spares the kernel an fget/fput pair; per
    // io_uring_enter, the registered ring fd another. Either may be refused: plain fd then.
    fixed_file_ = io_uring_register_files(&ring_, &fd, 1) == 0;
    io_uring_register_ring_fd(&ring_);
    return 0;
  }

  bool fixed_buffers() const override { return fixed_; }

  int Rx(uint32_t n) override {
    uint32_t m = 0;
    int err = 0;
    for (; m < n; m++) {
      const uint32_t off = a_.rx_off[m];
      if (!a_.InPool(off, a_.rx_cap)) {
        err = EFAULT;
        break;
      }
      struct io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) break;
      if (fixed_) {
        io_uring_prep_read_fixed(sqe, file(), a_.pool + off, a_.rx_cap, 0, 0);
      } else {
        io_uring_prep_read(sqe, file(), a_.pool + off, a_.rx_cap, 0);
      }
      sqe->flags = sqe_flags();
      sqe->rw_flags = RWF_NOWAIT;  // no frame waiting: complete with -EAGAIN, never park the read
      sqe->user_data = m;
    }
    if (m == 0) {
      a_.status[kLastErrno] = err;
      return err != 0 ? -err : 0;
    }
    int r = SubmitAndReap(m, res_);
    if (r < 0) {
      a_.status[kLastErrno] = -r;
      return r;
    }
    uint32_t got = 0;
    for (uint32_t i = 0; i < m; i++) {
      const int32_t len = res_[i];
      if (len < 0) {
        err = -len;
        continue;
      }
      // tun reports the whole frame length even when it copied less: a frame that filled the buffer may be cut.
      if (static_cast<uint32_t>(len) >= a_.rx_cap) {
        a_.status[kRxTruncated]++;
        continue;
      }
      if (got != i) memmove(a_.pool + a_.rx_off[got], a_.pool + a_.rx_off[i], len);
      a_.rx_len[got] = static_cast<uint32_t>(len);
      a_.rx_tci[got] = 0;
      got++;
    }
    return RxResult(a_, got, err);
  }

  int Tx(uint32_t n) override {
    uint32_t m = 0;
    int err = 0;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t off, len;
      if (!a_.TxFrame(i, 0, &off, &len, &err)) continue;
      struct io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) break;
      if (fixed_) {
        io_uring_prep_write_fixed(sqe, file(), a_.pool + off, len, 0, 0);
      } else {
        io_uring_prep_write(sqe, file(), a_.pool + off, len, 0);
      }
      sqe->flags = sqe_flags();
      sqe->rw_flags = RWF_NOWAIT;
      sqe->user_data = m;
      m++;
    }
    uint32_t sent = 0;
    if (m > 0) {
      int r = SubmitAndReap(m, res_);
      if (r < 0) {
        a_.status[kLastErrno] = -r;
        a_.status[kTxStopped] = 1;
        return r;
      }
      // Every completion is counted: one that stops the burst does not hide the outcome of those after it.
      for (uint32_t i = 0; i < m; i++) TallyFrame(a_, res_[i] >= 0 ? 0 : -res_[i], &sent, &err);
    }
    return TxResult(a_, sent, err);
  }

 private:
  /*
   * Submit the m prepared SQEs with one io_uring_enter and collect their m
   * CQEs; res[i] = result of SQE i. RWF_NOWAIT makes them complete inside
   * that call; should one still be in flight (a kernel that parks it), it
   * is cancelled and waited for, so no request outlives the call. 0 or -errno.
   */
  int SubmitAndReap(uint32_t m, int32_t* res) {
    int r;
    do {
      r = io_uring_submit(&ring_);
    } while (r == -EINTR);
    if (r < 0) return r;
    uint32_t seen = Reap(res);
    if (seen < m) {
      struct io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe != nullptr) {
        io_uring_prep_cancel_fd(sqe, file(), IORING_ASYNC_CANCEL_ALL | (fixed_file_ ? IORING_ASYNC_CANCEL_FD_FIXED : 0));
        sqe->user_data = kCancelTag;
        io_uring_submit(&ring_);
      }
      while (seen < m) {
        struct io_uring_cqe* cqe;
        int w = io_uring_wait_cqe(&ring_, &cqe);
        if (w < 0 && w != -EINTR) return w;
        seen += Reap(res);
      }
    }
    return 0;
  }

  /* Consume every CQE there is; the count of burst ones (the cancel's is not counted). */
  uint32_t Reap(int32_t* res) {
    struct io_uring_cqe* cqe;
    unsigned head, count = 0;
    uint32_t burst = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      if (cqe->user_data < kMaxBurst) {
        res[cqe->user_data] = cqe->res;
        burst++;
      }
      count++;
    }
    io_uring_cq_advance(&ring_, count);
    return burst;
  }

  /* The file an SQE names: index 0 of the registered files, or the fd. */
  int file() const { return fixed_file_ ? 0 : fd_; }
  uint8_t sqe_flags() const { return fixed_file_ ? IOSQE_FIXED_FILE : 0; }

  static constexpr uint64_t kCancelTag = ~0ull;
  BurstArrays a_;
  int fd_ = -1;
  struct io_uring ring_;
  bool ring_ok_ = false;
  bool fixed_ = false;
  bool fixed_file_ = false;
  int32_t res_[kMaxBurst];
};

}  // namespace

std::unique_ptr<UringBurst> UringBurst::Open(int fd, const BurstArrays& arrays, uint32_t burst, int* err) {
  if (burst == 0 || burst > kMaxBurst) {
    *err = EINVAL;
    return nullptr;
  }
  auto u = std::make_unique<LiburingBurst>(arrays);
  int e = u->Init(fd, burst);
  if (e != 0) {
    *err = e;
    return nullptr;
  }
  *err = 0;
  return u;
}

#else  // !LINC_HAVE_URING

std::unique_ptr<UringBurst> UringBurst::Open(int /*fd*/, const BurstArrays& /*arrays*/, uint32_t /*burst*/, int* err) {
  *err = ENOSYS;
  return nullptr;
}

#endif

}  // namespace linc
