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

#include "layout.h"
#include "fd-poll.h"
#include "sys.h"
#include "uring.h"

namespace linc {

namespace {

/* Errors that concern one frame only: skip it and go on with the burst. */
inline bool FrameError(int err) { return err == EINVAL || err == EMSGSIZE || err == EFAULT; }

struct InstanceData {
  Napi::FunctionReference io_ctor;
};

class Io : public Napi::ObjectWrap<Io> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeIo",
                       {InstanceMethod<&Io::Rx>("rx"), InstanceMethod<&Io::Tx>("tx"),
                        InstanceMethod<&Io::StartPoll>("startPoll"), InstanceMethod<&Io::StopPoll>("stopPoll"),
                        InstanceMethod<&Io::Close>("close"), InstanceMethod<&Io::ReleaseFd>("releaseFd"),
                        InstanceMethod<&Io::UseUring>("useUring")});
  }

  explicit Io(const Napi::CallbackInfo& info);
  ~Io() override;

 private:
  Napi::Value Rx(const Napi::CallbackInfo& info);
  Napi::Value Tx(const Napi::CallbackInfo& info);
  Napi::Value StartPoll(const Napi::CallbackInfo& info);
  Napi::Value StopPoll(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value ReleaseFd(const Napi::CallbackInfo& info);
  Napi::Value UseUring(const Napi::CallbackInfo& info);

  int RxTap(uint32_t n);
  int RxPacket(uint32_t n);
  int TxTap(uint32_t n);
  int TxPacket(uint32_t n);
  bool InPool(uint32_t off, uint32_t len) const { return off <= pool_len_ && len <= pool_len_ - off; }

  static void OnPoll(uv_poll_t* handle, int status, int events);
  void HandlePoll(int status);
  void ReleasePollHandle();

  int fd_ = -1;
  int kind_ = kIoKindTap;
  bool polling_ = false;
  FdPoll poll_;
  std::unique_ptr<UringBurst> uring_;  // TAP bursts through io_uring when set (useUring)

  uint8_t* pool_ = nullptr;
  size_t pool_len_ = 0;
  uint32_t rx_cap_ = 0;
  uint32_t rx_burst_ = 0;
  uint32_t tx_burst_ = 0;
  uint32_t* rx_off_ = nullptr;
  uint32_t* rx_len_ = nullptr;
  uint32_t* rx_tci_ = nullptr;
  uint32_t* tx_off_ = nullptr;
  uint32_t* tx_len_ = nullptr;
  int32_t* status_ = nullptr;

  // Keep the JS-owned memory alive as long as we hold pointers into it.
  std::vector<Napi::ObjectReference> keep_;
  Napi::FunctionReference on_readable_;
  std::unique_ptr<Napi::AsyncContext> async_ctx_;

  // AF_PACKET scratch, sized once to the burst.
  size_t ctl_space_ = 0;
  std::vector<struct mmsghdr> rx_msgs_;
  std::vector<struct iovec> rx_iov_;
  std::vector<uint8_t> rx_ctl_;
  std::vector<struct mmsghdr> tx_msgs_;
  std::vector<struct iovec> tx_iov_;
};

/* The data pointer and element count of a typed array of the given type, or false. */
template <typename T>
bool TypedArg(const Napi::Value& v, napi_typedarray_type type, T** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != type) return false;
  Napi::ArrayBuffer ab = ta.ArrayBuffer();
  *data = reinterpret_cast<T*>(static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset());
  *len = ta.ElementLength();
  return true;
}

Io::Io(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Io>(info) {
  Napi::Env env = info.Env();
  const char* usage =
      "createIo(fd, kind, pool: ArrayBuffer, rxOff: Uint32Array, rxCap: number, rxLen: Uint32Array, "
      "rxTci: Uint32Array, txOff: Uint32Array, txLen: Uint32Array, status: Int32Array), "
      "burst arrays of at most MAX_BURST entries";
  if (info.Length() < 10 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsArrayBuffer() ||
      !info[4].IsNumber()) {
    ThrowType(env, usage);
    return;
  }
  const int kind = info[1].As<Napi::Number>().Int32Value();
  const double cap = info[4].As<Napi::Number>().DoubleValue();
  size_t rx_off_n, rx_len_n, rx_tci_n, tx_off_n, tx_len_n, status_n;
  if ((kind != kIoKindTap && kind != kIoKindPacket) || !(cap >= 1 && cap <= (1u << 30)) ||
      !TypedArg(info[3], napi_uint32_array, &rx_off_, &rx_off_n) ||
      !TypedArg(info[5], napi_uint32_array, &rx_len_, &rx_len_n) ||
      !TypedArg(info[6], napi_uint32_array, &rx_tci_, &rx_tci_n) ||
      !TypedArg(info[7], napi_uint32_array, &tx_off_, &tx_off_n) ||
      !TypedArg(info[8], napi_uint32_array, &tx_len_, &tx_len_n) ||
      !TypedArg(info[9], napi_int32_array, &status_, &status_n) || status_n < kStatusLen || rx_off_n > kMaxBurst ||
      rx_len_n > kMaxBurst || rx_tci_n > kMaxBurst || tx_off_n > kMaxBurst || tx_len_n > kMaxBurst) {
    ThrowType(env, usage);
    return;
  }
  Napi::ArrayBuffer pool = info[2].As<Napi::ArrayBuffer>();
  pool_ = static_cast<uint8_t*>(pool.Data());
  pool_len_ = pool.ByteLength();
  kind_ = kind;
  rx_cap_ = static_cast<uint32_t>(cap);
  rx_burst_ = static_cast<uint32_t>(std::min(rx_off_n, std::min(rx_len_n, rx_tci_n)));
  tx_burst_ = static_cast<uint32_t>(std::min(tx_off_n, tx_len_n));
  for (size_t i = 2; i < 10; i++) {
    if (i != 4) keep_.push_back(Napi::Persistent(info[i].As<Napi::Object>()));
  }
  if (kind_ == kIoKindPacket) {
    ctl_space_ = CMSG_SPACE(sizeof(struct tpacket_auxdata));
    rx_msgs_.resize(rx_burst_);
    rx_iov_.resize(rx_burst_);
    rx_ctl_.resize(ctl_space_ * rx_burst_ + 1);
    tx_msgs_.resize(tx_burst_);
    tx_iov_.resize(tx_burst_);
  }
  fd_ = info[0].As<Napi::Number>().Int32Value();
}

Io::~Io() {
  // A polling Io is referenced by itself, so here the handle is idle (or the env is tearing down).
  ReleasePollHandle();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void Io::ReleasePollHandle() {
  poll_.Release();
  uring_.reset();  // the ring holds the fd (fixed file): drop it before the fd is closed or given up
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
    const BurstArrays arrays = {pool_, pool_len_, rx_cap_, rx_off_, rx_len_, rx_tci_, tx_off_, tx_len_, status_};
    uring_ = UringBurst::Open(fd_, arrays, std::max(rx_burst_, tx_burst_), &err);
  }
  return Napi::Number::New(info.Env(), err);
}

Napi::Value Io::Rx(const Napi::CallbackInfo& info) {
  int32_t n = info[0].As<Napi::Number>().Int32Value();
  if (n <= 0) return Napi::Number::New(info.Env(), 0);
  uint32_t want = static_cast<uint32_t>(n) < rx_burst_ ? static_cast<uint32_t>(n) : rx_burst_;
  int r = fd_ < 0 ? -EBADF : uring_ ? uring_->Rx(want) : kind_ == kIoKindTap ? RxTap(want) : RxPacket(want);
  return Napi::Number::New(info.Env(), r);
}

Napi::Value Io::Tx(const Napi::CallbackInfo& info) {
  int32_t n = info[0].As<Napi::Number>().Int32Value();
  status_[kTxStopped] = 0;
  if (n <= 0) return Napi::Number::New(info.Env(), 0);
  uint32_t want = static_cast<uint32_t>(n) < tx_burst_ ? static_cast<uint32_t>(n) : tx_burst_;
  int r = fd_ < 0 ? -EBADF : uring_ ? uring_->Tx(want) : kind_ == kIoKindTap ? TxTap(want) : TxPacket(want);
  return Napi::Number::New(info.Env(), r);
}

int Io::RxTap(uint32_t n) {
  uint32_t got = 0;
  int err = 0;
  // Each truncated read consumes one frame; bound the loop so a flood of
  // oversized frames cannot keep us here.
  for (uint32_t reads = 0; got < n && reads < 2 * n; reads++) {
    const uint32_t off = rx_off_[got];
    if (!InPool(off, rx_cap_)) {
      err = EFAULT;
      break;
    }
    ssize_t r = read(fd_, pool_ + off, rx_cap_);
    if (r < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    // tun returns the whole frame length even when it copied less, so a
    // frame that filled the buffer may have been cut: drop it.
    if (static_cast<size_t>(r) >= rx_cap_) {
      status_[kRxTruncated]++;
      continue;
    }
    rx_len_[got] = static_cast<uint32_t>(r);
    rx_tci_[got] = 0;
    got++;
  }
  status_[kLastErrno] = err;
  if (got == 0 && err != 0 && err != EAGAIN) return -err;
  return static_cast<int>(got);
}

int Io::RxPacket(uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t off = rx_off_[i];
    if (!InPool(off, rx_cap_)) {
      status_[kLastErrno] = EFAULT;
      if (i == 0) return -EFAULT;
      n = i;
      break;
    }
    rx_iov_[i].iov_base = pool_ + off;
    rx_iov_[i].iov_len = rx_cap_;
    struct msghdr& h = rx_msgs_[i].msg_hdr;
    h.msg_name = nullptr;
    h.msg_namelen = 0;
    h.msg_iov = &rx_iov_[i];
    h.msg_iovlen = 1;
    h.msg_control = rx_ctl_.data() + i * ctl_space_;
    h.msg_controllen = ctl_space_;
    h.msg_flags = 0;
  }
  int r = recvmmsg(fd_, rx_msgs_.data(), n, MSG_DONTWAIT, nullptr);
  if (r < 0) {
    const int err = errno;
    status_[kLastErrno] = err;
    return (err == EAGAIN || err == EINTR) ? 0 : -err;
  }
  uint32_t kept = 0;
  for (int j = 0; j < r; j++) {
    struct msghdr& h = rx_msgs_[j].msg_hdr;
    if (h.msg_flags & MSG_TRUNC) {
      status_[kRxTruncated]++;
      continue;
    }
    uint32_t tci = 0;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
          c->cmsg_len < CMSG_LEN(sizeof(struct tpacket_auxdata))) {
        continue;
      }
      struct tpacket_auxdata aux;
      memcpy(&aux, CMSG_DATA(c), sizeof aux);
      if (aux.tp_status & TP_STATUS_VLAN_VALID) {
        tci = aux.tp_vlan_tci | kRxTciPresent;
        if ((aux.tp_status & TP_STATUS_VLAN_TPID_VALID) && aux.tp_vlan_tpid == ETH_P_8021AD) tci |= kRxTciTpid8021ad;
      }
    }
    const uint32_t len = rx_msgs_[j].msg_len;
    if (kept != static_cast<uint32_t>(j)) memmove(pool_ + rx_off_[kept], pool_ + rx_off_[j], len);
    rx_len_[kept] = len;
    rx_tci_[kept] = tci;
    kept++;
  }
  status_[kLastErrno] = 0;
  return static_cast<int>(kept);
}

int Io::TxTap(uint32_t n) {
  uint32_t sent = 0;
  int err = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t off = tx_off_[i], len = tx_len_[i];
    if (!InPool(off, len)) {
      err = EFAULT;
      status_[kTxRejected]++;
      continue;
    }
    ssize_t r;
    do {
      r = write(fd_, pool_ + off, len);
    } while (r < 0 && errno == EINTR);
    if (r >= 0) {
      sent++;
      continue;
    }
    err = errno;
    if (FrameError(err)) {
      status_[kTxRejected]++;
      continue;
    }
    status_[kTxStopped] = 1;
    break;
  }
  status_[kLastErrno] = err;
  if (sent == 0 && err != 0 && err != EAGAIN && err != ENOBUFS) return -err;
  return static_cast<int>(sent);
}

int Io::TxPacket(uint32_t n) {
  uint32_t m = 0;
  int err = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t off = tx_off_[i], len = tx_len_[i];
    if (!InPool(off, len)) {
      err = EFAULT;
      status_[kTxRejected]++;
      continue;
    }
    tx_iov_[m].iov_base = pool_ + off;
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
      status_[kTxRejected]++;
      i++;
      continue;
    }
    status_[kTxStopped] = 1;
    break;
  }
  status_[kLastErrno] = err;
  if (sent == 0 && err != 0 && err != EAGAIN && err != ENOBUFS) return -err;
  return static_cast<int>(sent);
}

Napi::Value Io::StartPoll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) return ThrowType(env, "startPoll(callback): callback must be a function");
  if (fd_ < 0) return ThrowSys(env, EBADF, "uv_poll_start", "closed port");
  if (async_ctx_ == nullptr) async_ctx_ = std::make_unique<Napi::AsyncContext>(env, "linc:port-poll");
  on_readable_ = Napi::Persistent(info[0].As<Napi::Function>());
  const char* what = "";
  int err = poll_.Start(env, fd_, this, OnPoll, &what);
  if (err != 0) return ThrowSys(env, err, what, "fd " + std::to_string(fd_));
  if (!polling_) {
    polling_ = true;
    Ref();
  }
  return env.Undefined();
}

Napi::Value Io::StopPoll(const Napi::CallbackInfo& info) {
  poll_.Stop();
  if (polling_) {
    polling_ = false;
    Unref();
  }
  return info.Env().Undefined();
}

Napi::Value Io::Close(const Napi::CallbackInfo& info) {
  ReleasePollHandle();  // before close(fd): uv_close drops the fd from epoll
  if (polling_) {
    polling_ = false;
    Unref();
  }
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  return info.Env().Undefined();
}

/*
 * releaseFd() -> fd | -1: like close(), but the fd is handed to the caller
 * instead of closed (the caller closes it on a worker thread, so the main
 * loop never waits for the kernel to tear a device down). The poll handle
 * is closed first, which takes the fd out of the event loop's epoll set.
 */
Napi::Value Io::ReleaseFd(const Napi::CallbackInfo& info) {
  ReleasePollHandle();
  if (polling_) {
    polling_ = false;
    Unref();
  }
  const int fd = fd_;
  fd_ = -1;
  return Napi::Number::New(info.Env(), fd);
}

void Io::OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  Io* io = static_cast<Io*>(handle->data);
  if (io != nullptr) io->HandlePoll(status);
}

void Io::HandlePoll(int status) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Object self = Value();  // keeps us alive through the callback even if it closes us
  bool release = false;
  if (status < 0) {
    // libuv stopped the handle on POLLERR. A packet socket reports ENETDOWN
    // that way when its link goes down: clear the error and keep polling (the
    // kernel re-arms the socket when the link comes back). A TAP reports it
    // when the device is gone: stay stopped.
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (kind_ == kIoKindPacket && getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr != 0 &&
        poll_.Restart(OnPoll)) {
      status_[kLastErrno] = soerr;
    } else {
      status_[kLastErrno] = -status;
      release = polling_;
      polling_ = false;
    }
  }
  if (!on_readable_.IsEmpty()) {
    on_readable_.MakeCallback(self, std::initializer_list<napi_value>{}, *async_ctx_);
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }
  if (release) Unref();
}

/* createIo(...) -> NativeIo */
Napi::Value CreateIo(const Napi::CallbackInfo& info) {
  InstanceData* data = info.Env().GetInstanceData<InstanceData>();
  std::vector<napi_value> args(info.Length());
  for (size_t i = 0; i < info.Length(); i++) args[i] = info[i];
  return data->io_ctor.New(args);
}

}  // namespace

void InitIo(Napi::Env env, Napi::Object exports) {
  InstanceData* data = new InstanceData();
  data->io_ctor = Napi::Persistent(Io::Define(env));
  env.SetInstanceData(data);
  exports.Set("createIo", Napi::Function::New(env, CreateIo, "createIo"));
}

}  // namespace linc
