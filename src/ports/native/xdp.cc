/*
 * XdpIo: the burst I/O object of an `if:NAME,mode=xdp` port: an AF_XDP
 * socket in copy mode on queue 0 of the interface, fed by a tiny XDP
 * program attached in generic (SKB) mode. Same face as io.cc's Io (rx(n),
 * tx(n), startPoll, stopPoll, close, releaseFd) plus kernelDrops(), and the
 * same burst arrays and status indices, so src/ports/native-port.ts drives
 * it like the others.
 *
 * createXdpIo(fd, pool, rxOff, rxCap, rxLen, rxTci, txOff, txLen, status,
 *             {ifindex, vnetHdr, linkFlags}) -> XdpIo
 * takes the port's bound AF_PACKET socket `fd` (kept: frames that need the
 * kernel's offloads go out through it, see tx) and sets up, each step a
 * raw syscall:
 *   bpf(BPF_MAP_CREATE) an XSKMAP; bpf(BPF_PROG_LOAD) the XDP program of
 *   xdp-prog.cc (frames larger than a chunk, and frames of a queue without
 *   a socket, pass to the stack, where the packet socket still receives
 *   them: only queue 0 has an AF_XDP socket, so the other queues of a
 *   multi-queue interface take that slower path; the rest go to the socket);
 *   socket(AF_XDP); an anonymous UMEM of kFrames chunks (XDP_UMEM_REG);
 *   the fill, completion, rx and tx rings (sizes, XDP_MMAP_OFFSETS, mmap);
 *   bind(XDP_COPY | XDP_USE_NEED_WAKEUP, queue 0); the socket into the map;
 *   bpf(BPF_LINK_CREATE, BPF_XDP, linkFlags) on the ifindex: from then on
 *   the kernel redirects the interface's frames into the socket. Last, one
 *   epoll fd holding the AF_XDP socket and the packet socket, to poll.
 * Any failing step throws NativeSysError{syscall: the step} after undoing
 * the steps before it: the packet socket is as it was (the caller's mmsg
 * fallback).
 *
 *   rx: takes the rx ring's descriptors, writes each frame into the pool at
 *       rxOff[i] after VNET_HDR_LEN zero bytes when vnetHdr (XDP frames
 *       carry no vnet header), and gives the chunks straight back to the
 *       fill ring. No syscall unless the fill ring asks for a wakeup. The
 *       packet socket holds what the program passed (GSO super-frames and
 *       TCP, with their vnet header and PACKET_AUXDATA VLAN tag); a recvmmsg
 *       reads it into the burst: first, for a quarter of it, when the ring
 *       alone would fill the burst and the socket gave frames last time (or
 *       on every 8th such burst, so an empty socket costs one EAGAIN per 8
 *       full bursts); and after the ring, into the rest, when the ring ran
 *       dry. A flood into the ring therefore cannot starve the stack's share.
 *   tx: reaps the completion ring, copies each frame (its vnet header
 *       skipped) into a free tx chunk and posts it, then kicks with
 *       sendto() (copy mode transmits inside that call, a batch of 32 at a
 *       time; repeated while the kernel says EAGAIN, at most pending/32 + 2
 *       calls). Refused before the kernel looked at the ring (ENETDOWN,
 *       ENXIO), the burst's descriptors are taken back and not counted, as
 *       sendmmsg would not have sent them; left by a busy device, they stay
 *       posted and leave with the next kick. A frame whose vnet
 *       header asks for an offload (GSO, partial checksum), or one larger
 *       than a chunk, goes through the packet socket with its header after
 *       the frames before it were kicked, so the order holds.
 *
 * The XDP attachment is a bpf_link: it belongs to the link fd, so closing
 * that fd (close(), releaseFd(), the process exiting for any reason, SIGKILL
 * included) detaches the program; the kernel also drops it with the device.
 *
 * Invariants
 * - rx/tx never block, never allocate and never throw; pool offsets are
 *   bounds-checked as in io.cc; frames 0..k-1 of an rx are valid.
 * - Every rx chunk is in the fill ring, with the kernel, or in the rx ring
 *   (the fill ring holds all of them); every tx chunk is free (tx_free_) or
 *   posted and not yet completed.
 * - Ring producer/consumer words are read with acquire and written with
 *   release ordering (they are the hand-off with the kernel).
 */

#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <vector>

#include "burst-io.h"
#include "burst.h"
#include "fd-poll.h"
#include "layout.h"
#include "sys.h"
#include "xdp.h"

namespace linc {

namespace {

constexpr uint32_t kChunk = 2048;
constexpr uint32_t kRxFrames = 2048;  // = fill ring = rx ring size
constexpr uint32_t kTxFrames = 1024;  // = tx ring = completion ring size
constexpr uint32_t kFrames = kRxFrames + kTxFrames;
/* Descriptors one sendto() transmits at most in copy mode (the kernel's TX_BATCH_SIZE). */
constexpr uint32_t kTxBatch = 32;
/* Largest frame a chunk holds in copy mode: the kernel keeps XDP_PACKET_HEADROOM (256) in front. */
constexpr uint32_t kMaxXdpFrame = kChunk - 256;
/* While the XSK ring fills whole bursts and the packet socket was empty, it is still read every this many bursts. */
constexpr uint32_t kPacketProbe = 8;


class XdpIo : public PolledIo<XdpIo> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeXdpIo",
                       {InstanceMethod<&XdpIo::Rx>("rx"), InstanceMethod<&XdpIo::Tx>("tx"),
                        InstanceMethod("startPoll", &XdpIo::StartPoll), InstanceMethod("stopPoll", &XdpIo::StopPoll),
                        InstanceMethod("close", &XdpIo::Close), InstanceMethod("releaseFd", &XdpIo::ReleaseFd),
                        InstanceMethod<&XdpIo::KernelDrops>("kernelDrops")});
  }
  explicit XdpIo(const Napi::CallbackInfo& info);
  ~XdpIo() override { CloseAll(); }

 private:
  Napi::Value Rx(const Napi::CallbackInfo& info);
  Napi::Value Tx(const Napi::CallbackInfo& info);
  friend class PolledIo<XdpIo>;
  Napi::Value KernelDrops(const Napi::CallbackInfo& info);

  const char* Setup(int ifindex, uint32_t link_flags);
  int RxXsk(uint32_t from, uint32_t n);
  int RxPacket(uint32_t from, uint32_t n);
  int TxXsk(uint32_t n);
  void Reap();
  int Kick();
  void TearDownXdp();
  void FreeSide() { TearDownXdp(); }  // detaches the program; the packet socket is PolledIo's (close/releaseFd)
  int PollFd() const { return ep_; }  // the AF_XDP socket and the packet socket
  std::string PollSubject() const { return "xsk fd " + std::to_string(xsk_); }
  int PollErrorFd() const { return -1; }  // an error stops polling

  int xsk_ = -1, map_fd_ = -1, prog_fd_ = -1, link_fd_ = -1, ep_ = -1;
  bool vnet_ = false;
  uint8_t* umem_ = nullptr;
  Ring fill_, comp_, rx_, tx_;
  uint32_t rx_cons_ = 0, fill_prod_ = 0, tx_prod_ = 0, comp_cons_ = 0;
  std::vector<uint64_t> tx_free_;  // free tx chunk addresses (a stack, sized once)
  PacketRxScratch pkt_rx_;  // recvmmsg scratch for the packet socket
  bool pkt_pending_ = false;  // the packet socket's last read gave frames: read its share first next burst
  uint32_t pkt_skipped_ = 0;  // full-ring bursts since the packet socket was last read
};

XdpIo::XdpIo(const Napi::CallbackInfo& info) : PolledIo<XdpIo>(info) {
  Napi::Env env = info.Env();
  int ifindex = 0;
  Napi::Object opts;
  if (!ParseSocketIoArgs(info, "createXdpIo", "linkFlags", &fd_, &ifindex, &vnet_, &opts)) return;
  const uint32_t link_flags = opts.Get("linkFlags").ToNumber().Uint32Value();
  pkt_rx_.Size(a_.rx_burst);
  const char* failed = Setup(ifindex, link_flags);
  if (failed != nullptr) {
    const int err = errno;
    TearDownXdp();
    fd_ = -1;  // the caller still owns it, unchanged
    ThrowSys(env, err, failed, "ifindex " + std::to_string(ifindex));
  }
}

/* The setup; nullptr, or the name of the step that failed (errno set). */
const char* XdpIo::Setup(int ifindex, uint32_t link_flags) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_XSKMAP;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  map_fd_ = static_cast<int>(Bpf(BPF_MAP_CREATE, &attr));
  if (map_fd_ < 0) return "bpf BPF_MAP_CREATE";
  prog_fd_ = LoadXskRedirectProgram(map_fd_, kMaxXdpFrame);
  if (prog_fd_ < 0) return "bpf BPF_PROG_LOAD";
  xsk_ = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (xsk_ < 0) return "socket AF_XDP";
  void* m = mmap(nullptr, static_cast<size_t>(kFrames) * kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (m == MAP_FAILED) return "mmap UMEM";
  umem_ = static_cast<uint8_t*>(m);
  struct xdp_umem_reg reg;
  memset(&reg, 0, sizeof reg);
  reg.addr = reinterpret_cast<uint64_t>(umem_);
  reg.len = static_cast<uint64_t>(kFrames) * kChunk;
  reg.chunk_size = kChunk;
  if (setsockopt(xsk_, SOL_XDP, XDP_UMEM_REG, &reg, sizeof reg) < 0) return "XDP_UMEM_REG";
  const uint32_t rxn = kRxFrames, txn = kTxFrames;
  if (setsockopt(xsk_, SOL_XDP, XDP_UMEM_FILL_RING, &rxn, sizeof rxn) < 0) return "XDP_UMEM_FILL_RING";
  if (setsockopt(xsk_, SOL_XDP, XDP_UMEM_COMPLETION_RING, &txn, sizeof txn) < 0) return "XDP_UMEM_COMPLETION_RING";
  if (setsockopt(xsk_, SOL_XDP, XDP_RX_RING, &rxn, sizeof rxn) < 0) return "XDP_RX_RING";
  if (setsockopt(xsk_, SOL_XDP, XDP_TX_RING, &txn, sizeof txn) < 0) return "XDP_TX_RING";
  struct xdp_mmap_offsets off;
  socklen_t ol = sizeof off;
  if (getsockopt(xsk_, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) < 0) return "XDP_MMAP_OFFSETS";
  if (!fill_.Map(xsk_, off.fr, rxn, sizeof(uint64_t), XDP_UMEM_PGOFF_FILL_RING)) return "mmap fill ring";
  if (!comp_.Map(xsk_, off.cr, txn, sizeof(uint64_t), XDP_UMEM_PGOFF_COMPLETION_RING)) return "mmap completion ring";
  if (!rx_.Map(xsk_, off.rx, rxn, sizeof(struct xdp_desc), XDP_PGOFF_RX_RING)) return "mmap rx ring";
  if (!tx_.Map(xsk_, off.tx, txn, sizeof(struct xdp_desc), XDP_PGOFF_TX_RING)) return "mmap tx ring";
  // Every rx chunk into the fill ring; every tx chunk free.
  for (uint32_t i = 0; i < kRxFrames; i++) fill_.Addrs()[i] = static_cast<uint64_t>(i) * kChunk;
  fill_prod_ = kRxFrames;
  StoreRelease(fill_.producer, fill_prod_);
  tx_free_.reserve(kTxFrames);
  for (uint32_t i = 0; i < kTxFrames; i++) tx_free_.push_back(static_cast<uint64_t>(kRxFrames + i) * kChunk);
  struct sockaddr_xdp sxdp;
  memset(&sxdp, 0, sizeof sxdp);
  sxdp.sxdp_family = AF_XDP;
  sxdp.sxdp_flags = XDP_COPY | XDP_USE_NEED_WAKEUP;
  sxdp.sxdp_ifindex = ifindex;
  sxdp.sxdp_queue_id = 0;
  if (bind(xsk_, reinterpret_cast<struct sockaddr*>(&sxdp), sizeof sxdp) < 0) return "bind AF_XDP";
  const uint32_t key = 0;
  const uint32_t value = static_cast<uint32_t>(xsk_);
  memset(&attr, 0, sizeof attr);
  attr.map_fd = map_fd_;
  attr.key = reinterpret_cast<uint64_t>(&key);
  attr.value = reinterpret_cast<uint64_t>(&value);
  if (Bpf(BPF_MAP_UPDATE_ELEM, &attr) < 0) return "bpf BPF_MAP_UPDATE_ELEM";
  memset(&attr, 0, sizeof attr);
  attr.link_create.prog_fd = prog_fd_;
  attr.link_create.target_ifindex = ifindex;
  attr.link_create.attach_type = BPF_XDP;
  attr.link_create.flags = link_flags;
  link_fd_ = static_cast<int>(Bpf(BPF_LINK_CREATE, &attr));
  if (link_fd_ < 0) return "bpf BPF_LINK_CREATE";
  // One fd to poll for both sockets: the AF_XDP rx ring and the packet socket (frames the program passed).
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) return "epoll_create1";
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  if (epoll_ctl(ep_, EPOLL_CTL_ADD, xsk_, &ev) < 0 || epoll_ctl(ep_, EPOLL_CTL_ADD, fd_, &ev) < 0) return "epoll_ctl";
  return nullptr;
}

/* Detach (close the link), free the socket, rings, UMEM, map and program; the packet socket stays. */
void XdpIo::TearDownXdp() {
  if (link_fd_ >= 0) close(link_fd_);
  link_fd_ = -1;
  fill_.Unmap();
  comp_.Unmap();
  rx_.Unmap();
  tx_.Unmap();
  if (xsk_ >= 0) close(xsk_);
  xsk_ = -1;
  if (umem_ != nullptr) munmap(umem_, static_cast<size_t>(kFrames) * kChunk);
  umem_ = nullptr;
  if (prog_fd_ >= 0) close(prog_fd_);
  prog_fd_ = -1;
  if (ep_ >= 0) close(ep_);
  ep_ = -1;
  if (map_fd_ >= 0) close(map_fd_);
  map_fd_ = -1;
}

Napi::Value XdpIo::Rx(const Napi::CallbackInfo& info) {
  const uint32_t want = BurstCount(info, a_.rx_burst);
  if (want == 0) return Napi::Number::New(info.Env(), 0);
  if (xsk_ < 0) return Napi::Number::New(info.Env(), -EBADF);
  // What the program passed to the stack (GSO super-frames, TCP) waits on the packet socket. Read it first, for a
  // quarter of the burst, when it had frames last time or on every kPacketProbe-th burst the XSK ring would fill
  // alone (an empty socket then costs one recvmmsg per kPacketProbe such bursts, not one each); then the XSK ring;
  // then the packet socket again for what is left when the ring ran dry. A UDP flood filling the ring every burst
  // thus leaves the packet socket a quarter of each burst instead of nothing.
  uint32_t got = 0;
  bool pkt_more = true;  // the packet socket may hold more than it gave (or was not read)
  const uint32_t in_ring = LoadAcquire(rx_.producer) - rx_cons_;
  if (in_ring >= want && (pkt_pending_ || ++pkt_skipped_ >= kPacketProbe)) {
    pkt_skipped_ = 0;
    const uint32_t share = want / 4 > 0 ? want / 4 : 1;
    got = static_cast<uint32_t>(RxPacket(0, share));
    pkt_pending_ = got > 0;
    pkt_more = got == share;
  }
  got = static_cast<uint32_t>(RxXsk(got, want));
  if (got < want && pkt_more) {
    got = static_cast<uint32_t>(RxPacket(got, want));
    pkt_pending_ = got == want;
  }
  return Napi::Number::New(info.Env(), got);
}

Napi::Value XdpIo::Tx(const Napi::CallbackInfo& info) {
  a_.status[kTxStopped] = 0;
  const uint32_t want = BurstCount(info, a_.tx_burst);
  if (want == 0) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), xsk_ < 0 ? -EBADF : TxXsk(want));
}

/* Frames rx slots from..n-1 get from the XSK rx ring: the burst's total. */
int XdpIo::RxXsk(uint32_t from, uint32_t n) {
  const uint32_t hdr = vnet_ ? static_cast<uint32_t>(kVnetHdrLen) : 0;
  const uint32_t avail = LoadAcquire(rx_.producer) - rx_cons_;
  const uint32_t take = avail < n - from ? avail : n - from;
  uint32_t got = from;
  for (uint32_t i = 0; i < take; i++) {
    const struct xdp_desc& d = rx_.Descs()[(rx_cons_ + i) & rx_.mask];
    const uint32_t off = a_.rx_off[got];
    const uint64_t chunk = d.addr & ~static_cast<uint64_t>(kChunk - 1);
    if (!a_.InPool(off, a_.rx_cap)) {
      a_.status[kLastErrno] = EFAULT;
    } else if (hdr + d.len > a_.rx_cap || d.addr + d.len > static_cast<uint64_t>(kFrames) * kChunk) {
      a_.status[kRxTruncated]++;
    } else {
      if (hdr != 0) memset(a_.pool + off, 0, hdr);
      memcpy(a_.pool + off + hdr, umem_ + d.addr, d.len);
      a_.rx_len[got] = hdr + d.len;
      a_.rx_tci[got] = 0;  // XDP sees the frame as it came: a tag is still in it
      got++;
    }
    fill_.Addrs()[(fill_prod_ + i) & fill_.mask] = chunk;  // the chunk goes straight back
  }
  if (take > 0) {
    rx_cons_ += take;
    StoreRelease(rx_.consumer, rx_cons_);
    fill_prod_ += take;
    StoreRelease(fill_.producer, fill_prod_);
  }
  if ((LoadAcquire(fill_.flags) & XDP_RING_NEED_WAKEUP) != 0) recvfrom(xsk_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
  a_.status[kLastErrno] = 0;
  return static_cast<int>(got);
}

/* Frames rx slots from..n-1 get from the packet socket (what the program passed): the burst's total (from on EAGAIN). */
int XdpIo::RxPacket(uint32_t from, uint32_t n) {
  const int r = RecvPacketBurst(fd_, a_, pkt_rx_, from, n);
  if (r >= 0) return r;
  a_.status[kLastErrno] = 0;  // nothing passed (EAGAIN): no error of this burst
  return static_cast<int>(from);
}

/* Completed tx chunks back to the free stack. */
void XdpIo::Reap() {
  const uint32_t done = LoadAcquire(comp_.producer) - comp_cons_;
  for (uint32_t i = 0; i < done; i++) tx_free_.push_back(comp_.Addrs()[(comp_cons_ + i) & comp_.mask]);
  comp_cons_ += done;
  if (done > 0) StoreRelease(comp_.consumer, comp_cons_);
}

/* sendto() until the kernel took every posted descriptor (a batch per call), or refused: 0 or an errno. */
int XdpIo::Kick() {
  // The kernel sends at most a batch (32) per call and says EAGAIN when more wait: enough calls for what is posted,
  // and no more (a device that keeps saying busy must not keep us here).
  const uint32_t pending = tx_prod_ - LoadAcquire(tx_.consumer);
  const uint32_t calls = pending / kTxBatch + 2;
  for (uint32_t c = 0; c < calls; c++) {
    if (LoadAcquire(tx_.consumer) == tx_prod_) return 0;
    // Copy mode transmits only inside sendto(): kick whatever the need_wakeup flag says.
    if (sendto(xsk_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) continue;
    // EBUSY: the device dropped a frame (link down); ENOBUFS/ENXIO/...: refused.
    if (errno != EAGAIN && errno != EINTR) return errno;
  }
  return LoadAcquire(tx_.consumer) == tx_prod_ ? 0 : EAGAIN;
}

int XdpIo::TxXsk(uint32_t n) {
  const uint32_t hdr = vnet_ ? static_cast<uint32_t>(kVnetHdrLen) : 0;
  Reap();
  uint32_t sent = 0, queued = 0;
  int err = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t off, len;
    if (!a_.TxFrame(i, hdr, &off, &len, &err)) continue;
    const uint8_t* frame = a_.pool + off;
    const bool offload = hdr != 0 && ((frame[kVnetFlags] & kVnetNeedsCsum) != 0 || frame[kVnetGsoType] != kVnetGsoNone);
    if (offload || len - hdr > kMaxXdpFrame) {
      // The kernel's offloads (or a frame no chunk holds): the packet socket, after what is queued.
      if (queued > 0) {
        StoreRelease(tx_.producer, tx_prod_);
        const int k = Kick();
        if (k != 0 && k != EAGAIN) err = k;
        queued = 0;
      }
      const int r = hdr != 0 ? SendRetry(fd_, frame, len) : EMSGSIZE;
      if (!TallyFrame(a_, r, &sent, &err)) break;
      continue;
    }
    if (tx_free_.empty()) {
      Reap();
      if (tx_free_.empty()) {
        err = ENOBUFS;  // every chunk still waits for the kernel: the queue is full
        a_.status[kTxStopped] = 1;
        break;
      }
    }
    const uint64_t addr = tx_free_.back();
    tx_free_.pop_back();
    memcpy(umem_ + addr, frame + hdr, len - hdr);
    struct xdp_desc& d = tx_.Descs()[tx_prod_ & tx_.mask];
    d.addr = addr;
    d.len = len - hdr;
    d.options = 0;
    tx_prod_++;
    queued++;
    sent++;
  }
  if (queued > 0) {
    StoreRelease(tx_.producer, tx_prod_);
    const int k = Kick();
    if (k != 0 && k != EAGAIN) err = k;
    if (k == ENETDOWN || k == ENXIO) {
      // Refused before the kernel looked at the ring (link down, device gone): take this burst's descriptors back,
      // newest first, so they are neither counted nor sent late, as sendmmsg would not have sent them.
      const uint32_t taken = LoadAcquire(tx_.consumer);
      while (queued > 0 && tx_prod_ != taken) {
        tx_prod_--;
        tx_free_.push_back(tx_.Descs()[tx_prod_ & tx_.mask].addr);
        queued--;
        sent--;
      }
      StoreRelease(tx_.producer, tx_prod_);
      a_.status[kTxStopped] = 1;
    }
    // Otherwise descriptors the kernel has not taken yet (a busy device) stay posted and leave with the next kick.
  }
  return TxResult(a_, sent, err);
}

/* kernelDrops() -> frames the kernel could not deliver to the socket since it was made (XDP_STATISTICS), or -1. */
Napi::Value XdpIo::KernelDrops(const Napi::CallbackInfo& info) {
  struct xdp_statistics st;
  memset(&st, 0, sizeof st);
  socklen_t len = sizeof st;
  if (xsk_ < 0 || getsockopt(xsk_, SOL_XDP, XDP_STATISTICS, &st, &len) < 0) return Napi::Number::New(info.Env(), -1);
  return Napi::Number::New(info.Env(), static_cast<double>(st.rx_dropped + st.rx_ring_full));
}

}  // namespace

void InitXdp(Napi::Env env, Napi::Object exports) {
  ExportFactory(env, exports, "createXdpIo", XdpIo::Define(env));
}

}  // namespace linc
