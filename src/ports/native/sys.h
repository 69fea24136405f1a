/*
 * Shared declarations of the linc_native addon.
 *
 * What: the addon does Linux syscalls for the ports and nothing else (no
 * parsing, no switching). Slow-path calls (open*, linkInfo, setLinkUp,
 * tapInfo, closeFd) live in open.cc; the per-burst I/O object lives in io.cc
 * (ring.cc: the same with TPACKET rings; xdp.cc: with an AF_XDP socket and
 * its XDP program, xdp-prog.cc), what they share (burst
 * arrays, their argument check) in burst.h, their poll glue in burst-io.h;
 * the kernel's link notifications (a NETLINK_ROUTE socket) in netlink.cc;
 * the readiness handle and startPoll/stopPoll of all three in fd-poll.cc;
 * the interface locks (flock) in lock.cc;
 * the kernel's drop statistics of packet sockets and TAPs in drops.cc;
 * the numbers shared with TypeScript (kinds, status indices, flag bits, burst
 * limit) in layout.h, exported as `constants` by addon.cc.
 *
 * Errors: slow-path calls throw a JS Error carrying
 *   { code: 'EPERM' | 'ENODEV' | ..., errno: <positive number>, syscall: string }
 * and a terse message; src/ports/open-errors.ts turns it into the sentence a
 * user reads. The hot path (Io.rx/Io.tx) never throws: it returns counts or
 * -errno and writes details into the caller's status array.
 */

#ifndef LINC_NATIVE_SYS_H_
#define LINC_NATIVE_SYS_H_

#include <napi.h>
#include <sys/socket.h>

#include <string>
#include <vector>

namespace linc {

/* Throw Error{code, errno, syscall} for `err` (a positive errno) and return undefined. */
Napi::Value ThrowSys(Napi::Env env, int err, const char* syscall, const std::string& subject);

/* Throw a TypeError with `msg` and return undefined. */
Napi::Value ThrowType(Napi::Env env, const char* msg);

/*
 * Socket buffers of a packet port (SO_*BUFFORCE, falling back to the capped SO_*BUF):
 * openPacket's socket (open.cc) and, in ring mode, the tx ring's socket (ring.cc).
 * Receive: the kernel doubles the figure for its accounting and charges each
 * frame its skb truesize, so 4 MiB holds about 9,500 64-byte frames or 3,600
 * of 1514 bytes (measured on a veth, kernel 6.18; the default 208 KiB holds
 * under 500 small ones). That absorbs a stall of the event loop (GC, a
 * flow-mod storm) of 30 ms at 300 kpps; the price, paid only by the port that
 * is overloaded, is that its frames may wait that long, since every port has
 * its own socket (the other ports' frames never queue behind them). Drops
 * beyond it are counted (PACKET_STATISTICS, src/ports/kernel-drops.ts).
 * Send: a veth frees a frame's send charge when it hands it to the peer, so the
 * send buffer only bounds frames waiting in a NIC's qdisc or ring.
 */
constexpr int kPacketSockBuf = 4 << 20;

/* Give a packet socket kPacketSockBuf of buffer `opt` (SO_RCVBUF, SO_SNDBUF) through its FORCE variant (`force_opt`), else as much as the cap allows. */
inline void SetPacketSockBuf(int fd, int force_opt, int opt) {
  const int sz = kPacketSockBuf;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &sz, sizeof sz) < 0) setsockopt(fd, SOL_SOCKET, opt, &sz, sizeof sz);
}

/* A JS function that constructs the class `ctor` (the FunctionReference given as its data) with its own arguments. */
inline Napi::Value NewWithArgs(const Napi::CallbackInfo& info) {
  Napi::FunctionReference* ctor = static_cast<Napi::FunctionReference*>(info.Data());
  std::vector<napi_value> args(info.Length());
  for (size_t i = 0; i < info.Length(); i++) args[i] = info[i];
  return ctor->New(args);
}

/* Export `name` on `exports` as a factory of the ObjectWrap class `cls` (the reference is freed with the env). */
inline void ExportFactory(Napi::Env env, Napi::Object exports, const char* name, Napi::Function cls) {
  auto* ctor = new Napi::FunctionReference(Napi::Persistent(cls));
  env.AddCleanupHook([ctor]() { delete ctor; });
  exports.Set(name, Napi::Function::New(env, NewWithArgs, name, ctor));
}

/* The current name of the TAP behind `fd` (TUNGETIFF, open.cc): 0, or an errno (EBADFD: the device is gone). */
int TapName(int fd, std::string* name);

/* Whether the network namespace `nsfd` refers to is the calling thread's: 1, 0, or -1 when the kernel cannot say. */
int InOurNetns(int nsfd);

/* Run fn(arg) on a thread of its own (e.g. one that joins another namespace) and wait for it: 0 or pthread_create's error. */
int RunOnThread(void* (*fn)(void*), void* arg);

/* Register the slow-path functions on `exports`. */
void InitOpen(Napi::Env env, Napi::Object exports);

/* Register the Io class and createIo on `exports`. */
void InitIo(Napi::Env env, Napi::Object exports);

/* Register openLinkEvents (netlink.cc) on `exports`. */
void InitNetlink(Napi::Env env, Napi::Object exports);

/* Register lockFile (lock.cc) on `exports`. */
void InitLock(Napi::Env env, Napi::Object exports);

/* Register packetStats and tapDevStats (drops.cc) on `exports`. */
void InitDrops(Napi::Env env, Napi::Object exports);

/* Register reclaimMemory (memory.cc) on `exports`. */
void InitMemory(Napi::Env env, Napi::Object exports);

/* Register createRingIo (ring.cc: TPACKET_V2 rings of an AF_PACKET socket) on `exports`. */
void InitRing(Napi::Env env, Napi::Object exports);

/* Register createXdpIo (xdp.cc: an AF_XDP socket and its XDP program) on `exports`. */
void InitXdp(Napi::Env env, Napi::Object exports);

}  // namespace linc

#endif  // LINC_NATIVE_SYS_H_
