/*
 * RingIo: the burst I/O object of an AF_PACKET socket with kernel rings
 * (`if:NAME,mode=ring`). Same face as io.cc's Io (rx(n), tx(n), startPoll,
 * stopPoll, close, releaseFd; plus kick(), see tx) and the same burst arrays
 * and status indices, so src/ports/native-port.ts drives both alike.
 *
 * createRingIo(fd, pool, rxOff, rxCap, rxLen, rxTci, txOff, txLen, status,
 *              {ifindex, vnetHdr, blockSize, sndBuf?}) -> RingIo
 * takes a socket openPacket made (bound, PACKET_VNET_HDR already set, as
 * the kernel wants it set before any ring) and sets it up for rx:
 *   PACKET_VERSION = TPACKET_V2, PACKET_COPY_THRESH = 1 (a frame larger
 *   than an rx slot is also queued whole on the socket, see rx),
 *   PACKET_RX_RING (kRxBlocks blocks of `blockSize` bytes in kFrameSize
 *   slots) and its mmap. The tx ring lives on a second socket of the same
 *   interface (the tx socket: protocol 0, so it receives nothing; never
 *   polled): the send buffer of the port's socket (kPacketSockBuf),
 *   PACKET_VERSION = TPACKET_V2, PACKET_LOSS = 1 (a malformed tx frame is
 *   dropped instead of stopping the ring), PACKET_VNET_HDR as the port has
 *   it, PACKET_TX_RING (kTxBlocks blocks of kTxBlockSize, same
 *   slots) and its mmap. Why a socket of its own: the kernel frees each sent
 *   frame with a write-space callback that wakes the socket's wait queue,
 *   and the polled socket always has the event loop's epoll entry there, so
 *   on it every frame sent cost a wakeup call (spinlocks and the epoll
 *   callback, about 5 % of the switch's CPU forwarding 64 B veth -> veth);
 *   nothing waits on the tx socket. Any failing step throws
 *   NativeSysError{syscall: the step} after undoing the steps before it, so
 *   the caller keeps a plain socket for recvmmsg/sendmmsg (the fallback).
 *   Frames queued on the socket before its rx ring existed are discarded
 *   once, at setup.
 *
 * Why TPACKET_V2 and not V3 for rx: the kernel hands a V2 slot over as soon
 * as its frame is written (per-slot status word) and wakes the poller per
 * frame, so a lone frame waits for nothing; a V3 block is handed over only
 * when full or when its retire timer (at least a jiffy) fires, which put an
 * idle ping through the switch at ~1.9 ms. The kernel publishes a V3 block
 * only as a whole, so reading frames of a block still being filled is not
 * safe; V2 is.
 *
 *   rx: walks the slots in ring order while their tp_status has
 *       TP_STATUS_USER and copies each frame, with the vnet header the kernel
 *       wrote before it, once into the pool at rxOff[i]; each slot is handed
 *       back (TP_STATUS_KERNEL) at once. The VLAN tag the kernel stripped is
 *       in the slot header (tp_vlan_tci/tp_vlan_tpid, as PACKET_AUXDATA
 *       reports it in mmsg mode). A frame larger than a slot (a 64 KiB GSO
 *       frame from a veth peer, a jumbo frame) is cut in its slot and marked
 *       TP_STATUS_COPY; the kernel then queued the whole frame on the socket
 *       (only such frames are queued once the ring exists, in ring order),
 *       and rx reads it with one recv() (the vnet header first, as in mmsg
 *       mode). Without room in the socket's buffer the kernel queues no
 *       copy: that frame counts as truncated. No syscall for a frame that
 *       fits its slot.
 *   tx: copies each frame into the next free tx slot (TP_STATUS_AVAILABLE),
 *       marks it TP_STATUS_SEND_REQUEST, and ends the burst with one
 *       send(tx socket, NULL, 0) "kick". With vnet headers, a frame that is
 *       not GSO gets hdr_len = its length in its slot's copy of the header
 *       (the pool's stays as it was): the kernel then copies the whole frame
 *       into the skb's linear head instead of attaching the ring page as a
 *       fragment after the Ethernet header. A fragment of the ring is
 *       zero-copy memory: a veth that hands the frame to another namespace
 *       copies it out into a freshly allocated page (skb_copy_ubufs), and the
 *       IP layer pulls its headers into the head; a linear frame skips
 *       both (the kernel reads hdr_len only to size that linear part when
 *       gso_type is NONE). A frame larger than a slot (a GSO
 *       super-frame with the vnet header) goes out through a second socket
 *       of the same interface (protocol 0: it receives nothing) after the
 *       frames queued before it were kicked, so the order holds. Frames a
 *       kick leaves queued because the device queue is full leave with the
 *       next kick (counted as sent, like a queue; tx then reports EAGAIN in
 *       status[kLastErrno], also when the kick sent some frames before the
 *       send buffer filled, and packet-port.ts re-kicks them through kick()
 *       on a short timer, so they leave without more traffic); after a hard error (link
 *       down) the slots the kernel did not take are taken back and not
 *       counted, as sendmmsg would not have sent them. A malformed frame is
 *       dropped by the kernel (PACKET_LOSS) without a count.
 *
 * Why the ring is walked here and not in TypeScript: the status words are
 * the hand-off with the kernel and need acquire/release ordering; JS has
 * atomics only on SharedArrayBuffers, not on an external mmap'd buffer.
 * This file keeps to that: status words, the frame header fields the kernel
 * documents (tp_mac, tp_snaplen, tp_len, VLAN), and one memcpy per frame.
 *
 * Memory per port: the rings are kernel pages mapped into the process
 * (counted in its RSS once touched; MAP_POPULATE touches them at setup):
 * kRxBlocks x blockSize + kTxBlocks x kTxBlockSize = 8 MiB (packet-port.ts's
 * block size) + 1 MiB.
 *
 * Invariants
 * - rx/tx never block, never allocate and never throw; pool offsets are
 *   bounds-checked as in io.cc; frames 0..k-1 of an rx are valid (no holes).
 * - rx consumes slots strictly in ring order, so the n-th TP_STATUS_COPY
 *   slot it meets goes with the n-th frame queued on the socket.
 * - The mappings and the three fds live until close()/releaseFd();
 *   releaseFd() unmaps, closes the tx and side sockets, and hands the rx
 *   ring socket over.
 * - Kernel drops still count through PACKET_STATISTICS on the same socket
 *   (with TPACKET_V2, struct tpacket_stats; tp_drops counts frames that
 *   found no free slot).
 */

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/mman.h>
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

namespace linc {

namespace {

/* Slots of both rings: a 1514-byte frame with a VLAN tag, a vnet header and the slot headers fits; bigger ones take the copy (rx) or the side socket (tx). */
constexpr uint32_t kFrameSize = 2048;
constexpr uint32_t kTxBlockSize = 1u << 16;
constexpr uint32_t kTxBlocks = 16;
constexpr uint32_t kRxBlocks = 16;
/* Bytes of the tx ring's mapping. */
constexpr size_t kTxMapLen = static_cast<size_t>(kTxBlockSize) * kTxBlocks;
/* Where the frame starts in a tx slot (no PACKET_TX_HAS_OFF): after the aligned tpacket2_hdr. */
constexpr uint32_t kTxDataOff = TPACKET_ALIGN(sizeof(struct tpacket2_hdr));

class RingIo : public PolledIo<RingIo> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeRingIo",
                       {InstanceMethod<&RingIo::Rx>("rx"), InstanceMethod<&RingIo::Tx>("tx"),
                        InstanceMethod<&RingIo::TxKick>("kick"), InstanceMethod("startPoll", &RingIo::StartPoll), InstanceMethod("stopPoll", &RingIo::StopPoll),
                        InstanceMethod("close", &RingIo::Close), InstanceMethod("releaseFd", &RingIo::ReleaseFd)});
  }
  explicit RingIo(const Napi::CallbackInfo& info);
  ~RingIo() override { CloseAll(); }

 private:
  Napi::Value Rx(const Napi::CallbackInfo& info);
  Napi::Value Tx(const Napi::CallbackInfo& info);
  Napi::Value TxKick(const Napi::CallbackInfo& info);
  friend class PolledIo<RingIo>;

  const char* Setup(int ifindex, bool vnet, uint32_t block_size);
  const char* SetupTx(int ifindex, bool vnet);
  int RxRing(uint32_t n);
  int RecvCopy(uint32_t off);
  void DiscardQueued();
  int TxRing(uint32_t n);
  /* One send() that makes the kernel transmit every slot marked SEND_REQUEST: 0 or an errno. */
  int Kick() { return SendRetry(tx_fd_, nullptr, 0); }
  /* Frames still wait in the tx ring for a kick: the newest slot queued is still SEND_REQUEST (the kernel sends in ring order). */
  bool TxPending() const {
    if (tx_ring_ == nullptr) return false;
    const uint32_t prev = tx_head_ == 0 ? tx_frames_ - 1 : tx_head_ - 1;
    auto* h = reinterpret_cast<struct tpacket2_hdr*>(tx_ring_ + static_cast<size_t>(prev) * kFrameSize);
    return LoadAcquire(&h->tp_status) == TP_STATUS_SEND_REQUEST;
  }
  void Unmap();
  /* Unmap the rings and close the tx and side sockets; the rx ring socket is PolledIo's (close/releaseFd). */
  void FreeSide() {
    Unmap();
    if (tx_fd_ >= 0) close(tx_fd_);
    tx_fd_ = -1;
    if (side_fd_ >= 0) close(side_fd_);
    side_fd_ = -1;
  }
  int PollFd() const { return fd_; }
  std::string PollSubject() const { return "fd " + std::to_string(fd_); }
  /* As io.cc's: a link that went down reports ENETDOWN as POLLERR; cleared, polling goes on. */
  int PollErrorFd() const { return fd_; }

  int tx_fd_ = -1;  // the tx ring's socket (protocol 0, never polled)
  int side_fd_ = -1;
  bool vnet_ = false;

  uint8_t* rx_ring_ = nullptr;  // fd_'s mapping, rx_map_len_ bytes; nullptr until set up
  size_t rx_map_len_ = 0;
  uint32_t rx_frames_ = 0;
  uint32_t rx_head_ = 0;  // the next slot to read
  uint8_t* tx_ring_ = nullptr;
  uint32_t tx_frames_ = 0;
  uint32_t tx_head_ = 0;
};

/* The kFrameSize slots of `blocks` blocks of block_size bytes. Slots lie back to back (frame i at i * kFrameSize)
 * only when a block holds whole slots; otherwise none, which the kernel refuses (EINVAL), as it should. */
uint32_t RingFrames(uint32_t block_size, uint32_t blocks) {
  return block_size % kFrameSize == 0 ? block_size / kFrameSize * blocks : 0;
}

/*
 * PACKET_RX_RING / PACKET_TX_RING (opt) of `blocks` blocks of block_size bytes, in kFrameSize slots
 * (all zero: the ring removed); setsockopt's result.
 */
int SetRing(int fd, int opt, uint32_t block_size, uint32_t blocks) {
  struct tpacket_req req;
  memset(&req, 0, sizeof req);
  req.tp_block_size = block_size;
  req.tp_block_nr = blocks;
  req.tp_frame_size = kFrameSize;
  req.tp_frame_nr = RingFrames(block_size, blocks);
  return setsockopt(fd, SOL_PACKET, opt, &req, sizeof req);
}

/* A ring's mapping of `len` bytes on `fd`; nullptr (errno set) when mmap fails. */
uint8_t* MapRing(int fd, size_t len) {
  void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  return m == MAP_FAILED ? nullptr : static_cast<uint8_t*>(m);
}

/* A send-only packet socket of `ifindex`: bound with protocol 0 (it receives nothing), PACKET_VNET_HDR when `vnet`; or -1 (errno set). */
int OpenTxSocket(int ifindex, bool vnet) {
  const int one = 1;
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = 0;
  sll.sll_ifindex = ifindex;
  if ((vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) ||
      bind(fd, reinterpret_cast<struct sockaddr*>(&sll), sizeof sll) < 0) {
    const int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

RingIo::RingIo(const Napi::CallbackInfo& info) : PolledIo<RingIo>(info) {
  Napi::Env env = info.Env();
  int ifindex = 0;
  Napi::Object opts;
  if (!ParseSocketIoArgs(info, "createRingIo", "blockSize", &fd_, &ifindex, &vnet_, &opts)) return;
  const uint32_t block_size = opts.Get("blockSize").ToNumber().Uint32Value();
  const char* failed = Setup(ifindex, vnet_, block_size);
  if (failed != nullptr) {
    const int err = errno;
    FreeSide();
    // Undo what was set, so the caller keeps a plain socket (recvmmsg/sendmmsg) in the same state as before.
    SetRing(fd_, PACKET_RX_RING, 0, 0);
    const int v1 = TPACKET_V1, zero = 0;
    setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &v1, sizeof v1);
    setsockopt(fd_, SOL_PACKET, PACKET_COPY_THRESH, &zero, sizeof zero);
    fd_ = -1;  // the caller still owns it
    ThrowSys(env, err, failed, "fd " + std::to_string(info[0].As<Napi::Number>().Int32Value()));
    return;
  }
  // Tests only (packet-port.ts's LINC_TEST_RING_SNDBUF): a small send buffer, so a kick really stops short.
  const Napi::Value sndbuf = opts.Get("sndBuf");
  if (sndbuf.IsNumber()) {
    const int sz = sndbuf.As<Napi::Number>().Int32Value();
    setsockopt(tx_fd_, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  }
}

/* The ring setup; nullptr, or the name of the step that failed (errno set). */
const char* RingIo::Setup(int ifindex, bool vnet, uint32_t block_size) {
  const int v2 = TPACKET_V2, one = 1;
  if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &v2, sizeof v2) < 0) return "PACKET_VERSION";
  if (setsockopt(fd_, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof one) < 0) return "PACKET_COPY_THRESH";
  if (SetRing(fd_, PACKET_RX_RING, block_size, kRxBlocks) < 0) return "PACKET_RX_RING";
  const size_t rx_len = static_cast<size_t>(block_size) * kRxBlocks;
  rx_ring_ = MapRing(fd_, rx_len);
  if (rx_ring_ == nullptr) return "mmap";
  rx_map_len_ = rx_len;
  rx_frames_ = RingFrames(block_size, kRxBlocks);
  rx_head_ = 0;
  DiscardQueued();
  if (const char* failed = SetupTx(ifindex, vnet)) return failed;
  // The side socket for frames larger than a tx slot: same interface, protocol 0 (never receives).
  side_fd_ = OpenTxSocket(ifindex, vnet);
  return side_fd_ < 0 ? "socket AF_PACKET (side)" : nullptr;
}

/* The tx socket and its ring; nullptr, or the name of the step that failed (errno set). */
const char* RingIo::SetupTx(int ifindex, bool vnet) {
  // PACKET_VNET_HDR (OpenTxSocket) and PACKET_VERSION before the ring: the kernel refuses them once it exists.
  tx_fd_ = OpenTxSocket(ifindex, vnet);
  if (tx_fd_ < 0) return "socket AF_PACKET (tx)";
  SetPacketSockBuf(tx_fd_, SO_SNDBUFFORCE, SO_SNDBUF);  // as the port's own socket has it (openPacket)
  const int v2 = TPACKET_V2, one = 1;
  if (setsockopt(tx_fd_, SOL_PACKET, PACKET_VERSION, &v2, sizeof v2) < 0) return "PACKET_VERSION (tx)";
  if (setsockopt(tx_fd_, SOL_PACKET, PACKET_LOSS, &one, sizeof one) < 0) return "PACKET_LOSS";
  if (SetRing(tx_fd_, PACKET_TX_RING, kTxBlockSize, kTxBlocks) < 0) return "PACKET_TX_RING";
  tx_ring_ = MapRing(tx_fd_, kTxMapLen);
  if (tx_ring_ == nullptr) return "mmap (tx)";
  tx_frames_ = RingFrames(kTxBlockSize, kTxBlocks);
  tx_head_ = 0;
  return nullptr;
}

void RingIo::Unmap() {
  if (rx_ring_ != nullptr) munmap(rx_ring_, rx_map_len_);
  if (tx_ring_ != nullptr) munmap(tx_ring_, kTxMapLen);
  rx_ring_ = tx_ring_ = nullptr;
  rx_map_len_ = 0;
  rx_frames_ = 0;
}

/*
 * Frames the socket queued before its rx ring existed (it was bound by
 * openPacket): read and dropped once, so that from now on the socket's queue
 * holds only the whole copies of TP_STATUS_COPY slots. The kernel switched
 * to the ring before PACKET_RX_RING returned (it waits for receivers in flight).
 */
void RingIo::DiscardQueued() {
  uint8_t scratch[64];
  for (int i = 0; i < 100000; i++) {
    const ssize_t r = recv(fd_, scratch, sizeof scratch, MSG_DONTWAIT | MSG_TRUNC);
    if (r < 0 && errno != EINTR) break;
  }
}

Napi::Value RingIo::Rx(const Napi::CallbackInfo& info) {
  const uint32_t want = BurstCount(info, a_.rx_burst);
  if (want == 0) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), rx_ring_ == nullptr ? -EBADF : RxRing(want));
}

Napi::Value RingIo::Tx(const Napi::CallbackInfo& info) {
  a_.status[kTxStopped] = 0;
  const uint32_t want = BurstCount(info, a_.tx_burst);
  if (want == 0) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), tx_ring_ == nullptr ? -EBADF : TxRing(want));
}

/* kick(): one more kick of frames a full send buffer left in the tx ring: 1 while some still wait, 0 when none does, or -errno (a hard error: the next tx deals with it). */
Napi::Value RingIo::TxKick(const Napi::CallbackInfo& info) {
  if (!TxPending()) return Napi::Number::New(info.Env(), 0);
  const int k = Kick();
  if (k != 0 && k != EAGAIN && k != ENOBUFS) return Napi::Number::New(info.Env(), -k);
  return Napi::Number::New(info.Env(), TxPending() ? 1 : 0);
}

int RingIo::RxRing(uint32_t n) {
  const uint32_t hdr = vnet_ ? static_cast<uint32_t>(kVnetHdrLen) : 0;
  uint32_t got = 0;
  while (got < n) {
    auto* h = reinterpret_cast<struct tpacket2_hdr*>(rx_ring_ + static_cast<size_t>(rx_head_) * kFrameSize);
    const uint32_t st = LoadAcquire(&h->tp_status);
    if ((st & TP_STATUS_USER) == 0) break;
    const uint32_t off = a_.rx_off[got];
    if (!a_.InPool(off, a_.rx_cap)) {
      a_.status[kLastErrno] = EFAULT;
      return got > 0 ? static_cast<int>(got) : -EFAULT;
    }
    const uint32_t total = hdr + h->tp_snaplen;
    int len = -1;
    if (st & TP_STATUS_COPY) {
      len = RecvCopy(off);
    } else if (h->tp_snaplen >= h->tp_len && total <= a_.rx_cap && h->tp_mac >= hdr &&
               h->tp_mac + h->tp_snaplen <= kFrameSize) {
      memcpy(a_.pool + off, reinterpret_cast<uint8_t*>(h) + h->tp_mac - hdr, total);
      len = static_cast<int>(total);
    }
    if (len < 0) {
      a_.status[kRxTruncated]++;
    } else {
      uint32_t tci = 0;
      if (st & TP_STATUS_VLAN_VALID) {
        tci = h->tp_vlan_tci | kRxTciPresent;
        if ((st & TP_STATUS_VLAN_TPID_VALID) && h->tp_vlan_tpid == ETH_P_8021AD) tci |= kRxTciTpid8021ad;
      }
      a_.rx_len[got] = static_cast<uint32_t>(len);
      a_.rx_tci[got] = tci;
      got++;
    }
    StoreRelease(&h->tp_status, TP_STATUS_KERNEL);
    rx_head_ = rx_head_ + 1 == rx_frames_ ? 0 : rx_head_ + 1;
  }
  a_.status[kLastErrno] = 0;
  return static_cast<int>(got);
}

/* The whole frame of a TP_STATUS_COPY slot, from the socket's queue into the pool at `off`: its length (vnet header included), or -1 (none queued, or too big). */
int RingIo::RecvCopy(uint32_t off) {
  ssize_t r;
  do {
    r = recv(fd_, a_.pool + off, a_.rx_cap, MSG_DONTWAIT | MSG_TRUNC);
  } while (r < 0 && errno == EINTR);
  // MSG_TRUNC: r is the frame's real length, so a frame larger than the slot shows as r > rx_cap.
  if (r < 0 || static_cast<size_t>(r) > a_.rx_cap) return -1;
  return static_cast<int>(r);
}

int RingIo::TxRing(uint32_t n) {
  uint32_t sent = 0, queued = 0;
  int err = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t off, len;
    if (!a_.TxFrame(i, 0, &off, &len, &err)) continue;
    if (len > kFrameSize - kTxDataOff) {
      if (queued > 0) {
        const int k = Kick();
        if (k != 0 && k != EAGAIN && k != ENOBUFS) err = k;
        queued = 0;
      }
      const int r = SendRetry(side_fd_, a_.pool + off, len);
      if (!TallyFrame(a_, r, &sent, &err)) break;
      continue;
    }
    auto* h = reinterpret_cast<struct tpacket2_hdr*>(tx_ring_ + static_cast<size_t>(tx_head_) * kFrameSize);
    if (LoadAcquire(&h->tp_status) != TP_STATUS_AVAILABLE) {
      err = ENOBUFS;  // every slot still waits for the kernel: the queue is full
      a_.status[kTxStopped] = 1;
      break;
    }
    uint8_t* data = reinterpret_cast<uint8_t*>(h) + kTxDataOff;
    memcpy(data, a_.pool + off, len);
    if (vnet_ && len > static_cast<uint32_t>(kVnetHdrLen) && data[kVnetGsoType] == kVnetGsoNone) {
      // hdr_len = the whole frame: the kernel copies it into the skb's linear head (see tx in the header comment).
      const uint32_t frame = len - kVnetHdrLen;
      data[kVnetHdrLenOff] = static_cast<uint8_t>(frame);
      data[kVnetHdrLenOff + 1] = static_cast<uint8_t>(frame >> 8);
    }
    h->tp_len = len;
    h->tp_snaplen = len;
    StoreRelease(&h->tp_status, TP_STATUS_SEND_REQUEST);
    tx_head_ = tx_head_ + 1 == tx_frames_ ? 0 : tx_head_ + 1;
    queued++;
    sent++;
  }
  if (queued > 0) {
    const int k = Kick();
    if (k != 0) err = k;
    if (k != 0 && k != EAGAIN && k != ENOBUFS) {
      // A hard error (link down, device gone): take back the slots the kernel did not take, newest
      // first, so they are not sent late and the kernel's ring position stays ours.
      while (queued > 0) {
        const uint32_t prev = tx_head_ == 0 ? tx_frames_ - 1 : tx_head_ - 1;
        auto* h = reinterpret_cast<struct tpacket2_hdr*>(tx_ring_ + static_cast<size_t>(prev) * kFrameSize);
        if (LoadAcquire(&h->tp_status) != TP_STATUS_SEND_REQUEST) break;
        StoreRelease(&h->tp_status, TP_STATUS_AVAILABLE);
        tx_head_ = prev;
        queued--;
        sent--;
      }
      a_.status[kTxStopped] = 1;
    }
    // Otherwise frames the kick could not send yet (queue full) stay in their slots and leave with the next kick.
  }
  // A kick that sent some frames and then met a full socket send buffer returns a count, not EAGAIN: say it.
  if (err == 0 && TxPending()) err = EAGAIN;
  return TxResult(a_, sent, err);
}

}  // namespace

void InitRing(Napi::Env env, Napi::Object exports) {
  ExportFactory(env, exports, "createRingIo", RingIo::Define(env));
}

}  // namespace linc
