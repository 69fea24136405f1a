/*
 * Kernel drop statistics of a port's fd (slow path, read per llstat window,
 * per scrape and once a tick; never per frame).
 *
 *   packetStats(fd) -> {packets, drops}
 *     getsockopt(SOL_PACKET, PACKET_STATISTICS) of an AF_PACKET socket:
 *     `drops` = frames the kernel could not queue on the socket (receive
 *     buffer full, or no memory for a copy) since the last read, `packets` =
 *     frames that passed to the socket in that time, dropped ones included.
 *     The kernel zeroes both on every read: the caller accumulates them.
 *
 *   tapDevStats(fd) -> {name, text} | null
 *     The TAP behind `fd` (TUNGETIFF: its current name; null when the device
 *     is gone) and the text of /proc/net/dev as its own network namespace
 *     shows it (TUNGETDEVNETNS; read on a short-lived thread that joins that
 *     namespace, since a TAP is usually moved into the namespace of the host
 *     it serves; a TAP in our own namespace is read on the calling thread,
 *     without that thread). The caller finds the TAP's line and its tx drop column:
 *     frames the kernel could not queue to our fd. Without TUNGETDEVNETNS or
 *     the right to join the namespace, the text is read in ours.
 *
 * Invariants
 * - No state here: the caller (src/ports/packet-port.ts) owns the sums.
 * - Throws Error{code, errno, syscall} on failure (EBADF, ENOTSOCK, ...).
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "sys.h"

namespace linc {

namespace {

Napi::Value PacketStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowType(env, "packetStats(fd): fd must be a number");
  const int fd = info[0].As<Napi::Number>().Int32Value();
  struct tpacket_stats st = {0, 0};
  socklen_t len = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) {
    return ThrowSys(env, errno, "getsockopt PACKET_STATISTICS", "fd " + std::to_string(fd));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("packets", Napi::Number::New(env, st.tp_packets));
  out.Set("drops", Napi::Number::New(env, st.tp_drops));
  return out;
}

/* /proc/thread-self/net/dev read in the namespace `nsfd` (-1: ours; another one is joined on a thread of its own). */
struct NetDevRead {
  int nsfd = -1;
  std::string text;
  int err = 0;
};

/* /proc/thread-self/net/dev of the calling thread's namespace into r->text (r->err on failure). */
void ReadNetDevHere(NetDevRead* r) {
  const int f = open("/proc/thread-self/net/dev", O_RDONLY | O_CLOEXEC);
  if (f < 0) {
    r->err = errno;
    return;
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = read(f, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) r->err = errno;
    if (n <= 0) break;
    r->text.append(buf, static_cast<size_t>(n));
  }
  close(f);
}

void* ReadNetDev(void* arg) {
  NetDevRead* r = static_cast<NetDevRead*>(arg);
  if (r->nsfd >= 0 && setns(r->nsfd, CLONE_NEWNET) < 0) {
    r->err = errno;
    return nullptr;
  }
  ReadNetDevHere(r);
  return nullptr;
}

int RunNetDevRead(NetDevRead* r) {
  // Once a tick per TAP: a thread (and setns) costs far more than the read, so only for another namespace.
  if (r->nsfd < 0 || InOurNetns(r->nsfd) == 1) {
    ReadNetDevHere(r);
    return r->err;
  }
  const int rc = RunOnThread(ReadNetDev, r);
  return rc != 0 ? rc : r->err;
}

Napi::Value TapDevStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowType(env, "tapDevStats(fd): fd must be a number");
  const int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name;
  const int name_err = TapName(fd, &name);
  if (name_err == EBADFD) return env.Null();
  if (name_err != 0) return ThrowSys(env, name_err, "TUNGETIFF", "fd " + std::to_string(fd));
  NetDevRead r;
  r.nsfd = ioctl(fd, TUNGETDEVNETNS);
  int err = RunNetDevRead(&r);
  if (err != 0 && r.nsfd >= 0) {
    // Not allowed to join its namespace: what ours shows (the TAP may still be here).
    close(r.nsfd);
    r = NetDevRead();
    err = RunNetDevRead(&r);
  }
  if (r.nsfd >= 0) close(r.nsfd);
  if (err != 0) return ThrowSys(env, err, "read /proc/net/dev", "fd " + std::to_string(fd));
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", name);
  out.Set("text", r.text);
  return out;
}

}  // namespace

void InitDrops(Napi::Env env, Napi::Object exports) {
  exports.Set("packetStats", Napi::Function::New(env, PacketStats, "packetStats"));
  exports.Set("tapDevStats", Napi::Function::New(env, TapDevStats, "tapDevStats"));
}

}  // namespace linc
