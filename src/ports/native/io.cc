/*
 * Io: the per-port burst I/O object. One N-API call moves one burst.
 *
 * createIo(fd, kind, pool, rxOff, rxCap, rxLen, rxTci, txOff, txLen, status)
 * checks its arguments once (burst arrays of at most kMaxBurst entries),
 * keeps references to the JS-owned arrays and caches their data pointers;
 * rx(n) / tx(n) then take only an integer. The kinds, status indices and
 * flag bits below are declared in layout.h and checked against TypeScript
 * when the addon loads.
 *
 *   kIoKindTap (0):    rx = read() loop until EAGAIN or n;  tx = write() loop;
 *                      after useUring(): one io_uring_enter per burst each way (uring.cc)
 *   kIoKindPacket (1): rx = one recvmmsg() with PACKET_AUXDATA; tx = sendmmsg() loop
 *
 * Contract of the arrays (all indexed by burst position i):
 *   rxOff[i]  in: byte offset in `pool` where frame i goes (vnet header first when the fd has one)
 *   rxLen[i]  out: bytes written (vnet header included)
 *   rxTci[i]  out: 0, or the VLAN tag the kernel stripped on receive:
 *               bits 0..15 TCI, kRxTciPresent (bit 16) tag present,
 *               kRxTciTpid8021ad (bit 17) the TPID was 0x88a8 (802.1ad); otherwise 0x8100
 *   txOff[i], txLen[i]  in: frame i to send (vnet header included when the fd has one)
 *   status[kLastErrno]   errno of the last failed syscall of the last rx/tx call (EAGAIN included), 0 if none
 *   status[kRxTruncated] frames dropped on rx because they did not fit in rxCap (cumulative)
 *   status[kTxRejected]  frames the kernel rejected one by one on tx, e.g. EINVAL/EMSGSIZE (cumulative)
 *   status[kTxStopped]   1 when the last tx stopped early (queue full or device error), else 0
 *
 * Invariants
 * - rx/tx never block (the fd is O_NONBLOCK and calls use MSG_DONTWAIT),
 *   never allocate and never throw; bytes outside `pool` are never touched
 *   (each offset is bounds-checked).
 * - Received frames are compacted: frames 0..k-1 are valid, with no holes
 *   for truncated frames.
 * - A polling Io holds a strong reference to itself, so it is not collected
 *   while libuv may call it; close() is idempotent and the uv handle is freed
 *   in its own close callback, after the Io may already be gone.
 * - The pool ArrayBuffer must not be transferred or resized while the Io lives.
 */

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <memory>
#include <vector>

#include "burst-io.h"
#include "burst.h"
#include "fd-poll.h"
#include "layout.h"
#include "sys.h"
#include "uring.h"

namespace linc {

namespace {

class Io : public PolledIo<Io> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeIo",
                       {InstanceMethod<&Io::Rx>("rx"), InstanceMethod<&Io::Tx>("tx"),
                        InstanceMethod("startPoll", &Io::StartPoll), InstanceMethod("stopPoll", &Io::StopPoll),
                        InstanceMethod("close", &Io::Close), InstanceMethod("releaseFd", &Io::ReleaseFd),
                        InstanceMethod<&Io::UseUring>("useUring")});
  }

  explicit Io(const Napi::CallbackInfo& info);
  ~Io() override { CloseAll(); }

 private:
  Napi::Value Rx(const Napi::CallbackInfo& info);
  Napi::Value Tx(const Napi::CallbackInfo& info);
  friend class PolledIo<Io>;
  Napi::Value UseUring(const Napi::CallbackInfo& info);

  int RxTap(uint32_t n);
  int RxPacket(uint32_t n);
  int TxTap(uint32_t n);
  int TxPacket(uint32_t n);
  void FreeSide() { uring_.reset(); }  // the ring holds the fd (fixed file): dropped before the fd is closed or given up
  int PollFd() const { return fd_; }
  std::string PollSubject() const { return "fd " + std::to_string(fd_); }
  /* A packet socket reports ENETDOWN as POLLERR when its link goes down (cleared: polling goes on); a TAP, when the device is gone. */
  int PollErrorFd() const { return kind_ == kIoKindPacket ? fd_ : -1; }

  int kind_ = kIoKindTap;
  std::unique_ptr<UringBurst> uring_;  // TAP bursts through io_uring when set (useUring)

  // AF_PACKET scratch, sized once to the burst.
  PacketRxScratch rx_;
  std::vector<struct mmsghdr> tx_msgs_;
  std::vector<struct iovec> tx_iov_;
};

Io::Io(const Napi::CallbackInfo& info) : PolledIo<Io>(info) {
  Napi::Env env = info.Env();
  const char* usage =
      "createIo(fd, kind, pool: ArrayBuffer, rxOff: Uint32Array, rxCap: number, rxLen: Uint32Array, "
      "rxTci: Uint32Array, txOff: Uint32Array, txLen: Uint32Array, status: Int32Array), "
      "burst arrays of at most MAX_BURST entries";
  const int kind = info.Length() >= 2 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : -1;
  if (!info[0].IsNumber() || (kind != kIoKindTap && kind != kIoKindPacket) || !ParseBurstArgs(info, 2, &a_, &keep_)) {
    ThrowType(env, usage);
    return;
  }
  kind_ = kind;
  if (kind_ == kIoKindPacket) {
    rx_.Size(a_.rx_burst);
    tx_msgs_.resize(a_.tx_burst);
    tx_iov_.resize(a_.tx_burst);
  }
  fd_ = info[0].As<Napi::Number>().Int32Value();
}

/*
 * useUring() -> 0 | errno: move this TAP's bursts through an io_uring from
 * now on; a positive errno (ENOSYS: no io_uring in the kernel or the build,
 * EPERM: kernel.io_uring_disabled, ...) leaves the read/write loop in place.
 */
Napi::Value Io::UseUring(const Napi::CallbackInfo& info) {
  int err = 0;
  if (fd_ < 0) {
    err = EBADF;
  } else if (kind_ != kIoKindTap) {
    err = EINVAL;
  } else if (!uring_) {
    uring_ = UringBurst::Open(fd_, a_, std::max(a_.rx_burst, a_.tx_burst), &err);
  }
  return Napi::Number::New(info.Env(), err);
}

Napi::Value Io::Rx(const Napi::CallbackInfo& info) {
  const uint32_t want = BurstCount(info, a_.rx_burst);
  if (want == 0) return Napi::Number::New(info.Env(), 0);
  int r = fd_ < 0 ? -EBADF : uring_ ? uring_->Rx(want) : kind_ == kIoKindTap ? RxTap(want) : RxPacket(want);
  return Napi::Number::New(info.Env(), r);
}

Napi::Value Io::Tx(const Napi::CallbackInfo& info) {
  a_.status[kTxStopped] = 0;
  const uint32_t want = BurstCount(info, a_.tx_burst);
  if (want == 0) return Napi::Number::New(info.Env(), 0);
  int r = fd_ < 0 ? -EBADF : uring_ ? uring_->Tx(want) : kind_ == kIoKindTap ? TxTap(want) : TxPacket(want);
  return Napi::Number::New(info.Env(), r);
}

int Io::RxTap(uint32_t n) {
  uint32_t got = 0;
  int err = 0;
  // Each truncated read consumes one frame; bound the loop so a flood of
  // oversized frames cannot keep us here.
  for (uint32_t reads = 0; got < n && reads < 2 * n; reads++) {
    const uint32_t off = a_.rx_off[got];
    if (!a_.InPool(off, a_.rx_cap)) {
      err = EFAULT;
      break;
    }
    ssize_t r = read(fd_, a_.pool + off, a_.rx_cap);
    if (r < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    // tun returns the whole frame length even when it copied less, so a
    // frame that filled the buffer may have been cut: drop it.
    if (static_cast<size_t>(r) >= a_.rx_cap) {
      a_.status[kRxTruncated]++;
      continue;
    }
    a_.rx_len[got] = static_cast<uint32_t>(r);
    a_.rx_tci[got] = 0;
    got++;
  }
  return RxResult(a_, got, err);
}

int Io::RxPacket(uint32_t n) {
  const int r = RecvPacketBurst(fd_, a_, rx_, 0, n);
  return r == -EAGAIN || r == -EINTR ? 0 : r;
}

int Io::TxTap(uint32_t n) {
  uint32_t sent = 0;
  int err = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t off, len;
    if (!a_.TxFrame(i, 0, &off, &len, &err)) continue;
    ssize_t r;
    do {
      r = write(fd_, a_.pool + off, len);
    } while (r < 0 && errno == EINTR);
    if (!TallyFrame(a_, r >= 0 ? 0 : errno, &sent, &err)) break;
  }
  return TxResult(a_, sent, err);
}

int Io::TxPacket(uint32_t n) {
  uint32_t m = 0;
  int err = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t off, len;
    if (!a_.TxFrame(i, 0, &off, &len, &err)) continue;
    tx_iov_[m].iov_base = a_.pool + off;
    tx_iov_[m].iov_len = len;
    struct msghdr& h = tx_msgs_[m].msg_hdr;
    memset(&h, 0, sizeof h);
    h.msg_iov = &tx_iov_[m];
    h.msg_iovlen = 1;
    m++;
  }
  uint32_t sent = 0, i = 0;
  bool retried = false;
  while (i < m) {
    int r = sendmmsg(fd_, tx_msgs_.data() + i, m - i, MSG_DONTWAIT);
    if (r > 0) {
      sent += r;
      i += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    err = r < 0 ? errno : EIO;
    // A link that went down (or a bind while it was down) leaves ENETDOWN pending on the
    // socket; the next send reports it once and clears it. Try once more: a link that is
    // really down fails again.
    if (err == ENETDOWN && !retried) {
      retried = true;
      continue;
    }
    if (FrameError(err)) {
      a_.status[kTxRejected]++;
      i++;
      continue;
    }
    a_.status[kTxStopped] = 1;
    break;
  }
  return TxResult(a_, sent, err);
}

}  // namespace

/* createIo(...) -> NativeIo */
void InitIo(Napi::Env env, Napi::Object exports) {
  ExportFactory(env, exports, "createIo", Io::Define(env));
}

}  // namespace linc
