/*
 * The pieces the two burst I/O objects (io.cc's Io, ring.cc's RingIo) and
 * the TAP io_uring (uring.cc) share: the burst arrays and status as cached
 * from JS, the one check of createIo's / createRingIo's burst arguments,
 * the pool bounds check, which errors concern one frame only, the
 * clamp of rx(n) / tx(n)'s n, the recvmmsg burst of a packet socket
 * (io.cc's mmsg mode, xdp.cc's passed frames) and the retried send().
 *
 * Invariants
 * - ParseBurstArgs checks every argument once (typed arrays of the right
 *   type, burst arrays of at most kMaxBurst entries, a status array of at
 *   least kStatusLen) and keeps a reference to each JS-owned array, so the
 *   cached pointers stay valid as long as `keep` lives.
 */

#ifndef LINC_NATIVE_BURST_H_
#define LINC_NATIVE_BURST_H_

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <napi.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>
#include <vector>

#include "layout.h"

namespace linc {

/* The virtio_net_hdr fields the addon reads or writes: flags and gso_type (u8), hdr_len (little-endian u16). */
constexpr uint32_t kVnetFlags = 0;
constexpr uint32_t kVnetGsoType = 1;
constexpr uint32_t kVnetHdrLenOff = 2;
constexpr uint8_t kVnetNeedsCsum = 1;  // in flags
constexpr uint8_t kVnetGsoNone = 0;    // gso_type

/* The burst arrays and status of an Io, as createIo / createRingIo got them (see io.cc for their contract). */
struct BurstArrays {
  uint8_t* pool = nullptr;
  size_t pool_len = 0;
  uint32_t rx_cap = 0;
  uint32_t* rx_off = nullptr;
  uint32_t* rx_len = nullptr;
  uint32_t* rx_tci = nullptr;
  uint32_t* tx_off = nullptr;
  uint32_t* tx_len = nullptr;
  int32_t* status = nullptr;
  uint32_t rx_burst = 0;  // entries of rx_off/rx_len/rx_tci (the shortest)
  uint32_t tx_burst = 0;  // entries of tx_off/tx_len (the shortest)

  /* [off, off + len) lies inside the pool. */
  bool InPool(uint32_t off, uint32_t len) const { return off <= pool_len && len <= pool_len - off; }

  /*
   * Tx frame i's pool offset and length; or false when it is not inside the pool or shorter than min_len:
   * then it is counted as rejected and *err = EFAULT (the burst goes on without it).
   */
  bool TxFrame(uint32_t i, uint32_t min_len, uint32_t* off, uint32_t* len, int* err) {
    *off = tx_off[i];
    *len = tx_len[i];
    if (InPool(*off, *len) && *len >= min_len) return true;
    *err = EFAULT;
    status[kTxRejected]++;
    return false;
  }
};

/* Errors that concern one frame only: skip it and go on with the burst. */
inline bool FrameError(int err) { return err == EINVAL || err == EMSGSIZE || err == EFAULT; }

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

/*
 * info[at .. at+7] = pool: ArrayBuffer, rxOff, rxCap: number, rxLen, rxTci,
 * txOff, txLen (Uint32Array), status: Int32Array. Fills *a and references
 * the JS objects in *keep; false (nothing kept) when an argument is wrong.
 */
inline bool ParseBurstArgs(const Napi::CallbackInfo& info, size_t at, BurstArrays* a,
                           std::vector<Napi::ObjectReference>* keep) {
  if (info.Length() < at + 8 || !info[at].IsArrayBuffer() || !info[at + 2].IsNumber()) return false;
  const double cap = info[at + 2].As<Napi::Number>().DoubleValue();
  size_t rx_off_n, rx_len_n, rx_tci_n, tx_off_n, tx_len_n, status_n;
  if (!(cap >= 1 && cap <= (1u << 30)) || !TypedArg(info[at + 1], napi_uint32_array, &a->rx_off, &rx_off_n) ||
      !TypedArg(info[at + 3], napi_uint32_array, &a->rx_len, &rx_len_n) ||
      !TypedArg(info[at + 4], napi_uint32_array, &a->rx_tci, &rx_tci_n) ||
      !TypedArg(info[at + 5], napi_uint32_array, &a->tx_off, &tx_off_n) ||
      !TypedArg(info[at + 6], napi_uint32_array, &a->tx_len, &tx_len_n) ||
      !TypedArg(info[at + 7], napi_int32_array, &a->status, &status_n) || status_n < kStatusLen ||
      rx_off_n > kMaxBurst || rx_len_n > kMaxBurst || rx_tci_n > kMaxBurst || tx_off_n > kMaxBurst ||
      tx_len_n > kMaxBurst) {
    return false;
  }
  Napi::ArrayBuffer pool = info[at].As<Napi::ArrayBuffer>();
  a->pool = static_cast<uint8_t*>(pool.Data());
  a->pool_len = pool.ByteLength();
  a->rx_cap = static_cast<uint32_t>(cap);
  a->rx_burst = static_cast<uint32_t>(std::min(rx_off_n, std::min(rx_len_n, rx_tci_n)));
  a->tx_burst = static_cast<uint32_t>(std::min(tx_off_n, tx_len_n));
  for (size_t i = at; i < at + 8; i++) {
    if (i != at + 2) keep->push_back(Napi::Persistent(info[i].As<Napi::Object>()));
  }
  return true;
}

/*
 * One frame sent on its own, r its outcome (0 or an errno): counted in *sent; or, *err = r, counted as rejected
 * (a frame error: the burst goes on); or the burst stops (status[kTxStopped] = 1): false.
 */
inline bool TallyFrame(BurstArrays& a, int r, uint32_t* sent, int* err) {
  if (r == 0) {
    (*sent)++;
    return true;
  }
  *err = r;
  if (FrameError(r)) {
    a.status[kTxRejected]++;
    return true;
  }
  a.status[kTxStopped] = 1;
  return false;
}

/* The end of a tx burst: status[kLastErrno] = err; the count sent, or -err when none was and err is more than a full queue. */
inline int TxResult(BurstArrays& a, uint32_t sent, int err) {
  a.status[kLastErrno] = err;
  if (sent == 0 && err != 0 && err != EAGAIN && err != ENOBUFS) return -err;
  return static_cast<int>(sent);
}

/* The end of an rx burst read frame by frame: status[kLastErrno] = err; the count read, or -err when none was and err is more than an empty queue. */
inline int RxResult(BurstArrays& a, uint32_t got, int err) {
  a.status[kLastErrno] = err;
  if (got == 0 && err != 0 && err != EAGAIN) return -err;
  return static_cast<int>(got);
}

/* rx(n) / tx(n)'s n, at most `burst` entries; 0 for n <= 0. */
inline uint32_t BurstCount(const Napi::CallbackInfo& info, uint32_t burst) {
  const int32_t n = info[0].As<Napi::Number>().Int32Value();
  if (n <= 0) return 0;
  return static_cast<uint32_t>(n) < burst ? static_cast<uint32_t>(n) : burst;
}

/* recvmmsg scratch of a packet socket's rx burst, sized once. */
struct PacketRxScratch {
  std::vector<struct mmsghdr> msgs;
  std::vector<struct iovec> iov;
  std::vector<uint8_t> ctl;
  static constexpr size_t kCtlSpace = CMSG_SPACE(sizeof(struct tpacket_auxdata));

  void Size(uint32_t burst) {
    msgs.resize(burst);
    iov.resize(burst);
    ctl.resize(kCtlSpace * burst + 1);
  }
};

/*
 * One recvmmsg (MSG_DONTWAIT) on the packet socket `fd` into rx slots
 * from..n-1 of `a` (slots stop before the first offset outside the pool),
 * each frame's VLAN tag from PACKET_AUXDATA into rx_tci; truncated frames
 * are dropped and counted, the rest compacted. Returns the burst's total
 * count (from + kept) with status[kLastErrno] = 0, or -errno when slot
 * `from` is outside the pool (EFAULT) or recvmmsg failed, with
 * status[kLastErrno] = errno.
 */
inline int RecvPacketBurst(int fd, BurstArrays& a, PacketRxScratch& s, uint32_t from, uint32_t n) {
  for (uint32_t i = from; i < n; i++) {
    if (!a.InPool(a.rx_off[i], a.rx_cap)) {
      if (i == from) {
        a.status[kLastErrno] = EFAULT;
        return -EFAULT;
      }
      n = i;
      break;
    }
    s.iov[i] = {a.pool + a.rx_off[i], a.rx_cap};
    struct msghdr& h = s.msgs[i].msg_hdr;
    memset(&h, 0, sizeof h);
    h.msg_iov = &s.iov[i];
    h.msg_iovlen = 1;
    h.msg_control = s.ctl.data() + i * PacketRxScratch::kCtlSpace;
    h.msg_controllen = PacketRxScratch::kCtlSpace;
  }
  const int r = recvmmsg(fd, s.msgs.data() + from, n - from, MSG_DONTWAIT, nullptr);
  if (r < 0) {
    const int err = errno;
    a.status[kLastErrno] = err;
    return -err;
  }
  uint32_t kept = from;
  for (uint32_t j = from; j < from + static_cast<uint32_t>(r); j++) {
    struct msghdr& h = s.msgs[j].msg_hdr;
    if (h.msg_flags & MSG_TRUNC) {
      a.status[kRxTruncated]++;
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
    const uint32_t len = s.msgs[j].msg_len;
    if (kept != j) memmove(a.pool + a.rx_off[kept], a.pool + a.rx_off[j], len);
    a.rx_len[kept] = len;
    a.rx_tci[kept] = tci;
    kept++;
  }
  a.status[kLastErrno] = 0;
  return static_cast<int>(kept);
}

/*
 * send(fd, data, len, MSG_DONTWAIT), tried up to three times on EINTR or a
 * pending ENETDOWN (left by a link that went down and up): 0 or an errno.
 * With data = nullptr, len = 0 it is the "kick" of a TPACKET tx ring.
 */
inline int SendRetry(int fd, const uint8_t* data, uint32_t len) {
  for (int tries = 0; tries < 3; tries++) {
    if (send(fd, data, len, MSG_DONTWAIT) >= 0) return 0;
    if (errno != EINTR && errno != ENETDOWN) return errno;
  }
  return errno;
}

/* The ring words shared with the kernel: read with acquire, written with release ordering. */
inline uint32_t LoadAcquire(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
inline void StoreRelease(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

}  // namespace linc

#endif  // LINC_NATIVE_BURST_H_
