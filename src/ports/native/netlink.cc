/*
 * Kernel link notifications: a NETLINK_ROUTE socket bound to the
 * RTMGRP_LINK multicast group (RTM_NEWLINK / RTM_DELLINK of every interface
 * in this network namespace) and, where the kernel allows it
 * (NETLINK_LISTEN_ALL_NSID, CAP_NET_BROADCAST), of the namespaces that have
 * an id here (a namespace gets one when an interface of ours moves into
 * it). Syscalls only: the bytes are handed to TypeScript as they came
 * (src/ports/link-events.ts parses them).
 *
 *   openLinkEvents() -> NetlinkSocket
 *     read(buf: Uint8Array) -> bytes   whole datagrams, one after another, as
 *                                      many as fit (at least kMinRoom bytes
 *                                      free before each recv), each after a
 *                                      header of two host-order 32-bit words:
 *                                      its length, and the id of the namespace
 *                                      it speaks of (-1: this one); 0 when none
 *                                      is waiting; -ENOBUFS when the kernel
 *                                      dropped notifications (receive queue
 *                                      overrun) or one did not fit: the
 *                                      caller must re-read every link
 *     startPoll(cb) / stopPoll()       cb() once per wakeup of the socket; while
 *                                      polling, it keeps the event loop alive
 *                                      (a switch whose ports all wait for their
 *                                      interfaces keeps running)
 *     close()                          idempotent
 *
 * Invariants
 * - The socket is non-blocking and close-on-exec; read never blocks and
 *   never throws.
 * - A polling socket holds a strong reference to itself (as Io does), so it
 *   is not collected while libuv may call it; the uv handle is freed in its
 *   own close callback.
 */

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <memory>

#include "fd-poll.h"
#include "sys.h"

namespace linc {

namespace {

/* Free room read() wants before each recv: a link notification is far smaller. */
constexpr size_t kMinRoom = 32 * 1024;
/* The header read() puts before each datagram: length, namespace id. */
constexpr size_t kDatagramHeader = 8;
#ifndef NETLINK_LISTEN_ALL_NSID
#define NETLINK_LISTEN_ALL_NSID 8
#endif
/* Receive buffer asked for (SO_RCVBUFFORCE, else the capped SO_RCVBUF): room for bursts of changes. */
constexpr int kNetlinkRcvBuf = 4 << 20;

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NetlinkSocket",
                       {InstanceMethod<&NetlinkSocket::Read>("read"),
                        InstanceMethod<&NetlinkSocket::StartPoll>("startPoll"),
                        InstanceMethod<&NetlinkSocket::StopPoll>("stopPoll"),
                        InstanceMethod<&NetlinkSocket::Close>("close")});
  }

  explicit NetlinkSocket(const Napi::CallbackInfo& info);
  ~NetlinkSocket() override;

 private:
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value StartPoll(const Napi::CallbackInfo& info);
  Napi::Value StopPoll(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  void HandlePoll();

  int fd_ = -1;
  /* A notification was lost (seen as a socket error by the poll callback); the next read reports it. */
  bool lost_ = false;
  Readable poll_;
};

NetlinkSocket::NetlinkSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSocket>(info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    ThrowSys(env, errno, "socket NETLINK_ROUTE", "link events");
    return;
  }
  const int sz = kNetlinkRcvBuf;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0) {
    const int err = errno;
    close(fd);
    ThrowSys(env, err, "bind RTMGRP_LINK", "link events");
    return;
  }
  // Best effort: without it (no CAP_NET_BROADCAST) only this namespace is heard.
  const int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &one, sizeof one);
  fd_ = fd;
}

NetlinkSocket::~NetlinkSocket() {
  poll_.ReleaseHandle();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Napi::Value NetlinkSocket::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    return ThrowType(env, "read(buf): buf must be a Uint8Array");
  }
  if (fd_ < 0) return Napi::Number::New(env, -EBADF);
  Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
  uint8_t* data = buf.Data();
  const size_t cap = buf.ByteLength();
  size_t used = 0;
  bool lost = lost_;
  lost_ = false;
  alignas(struct cmsghdr) uint8_t control[CMSG_SPACE(sizeof(int))];
  while (cap - used >= kMinRoom) {
    struct iovec iov = {data + used + kDatagramHeader, cap - used - kDatagramHeader};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t r = recvmsg(fd_, &msg, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        lost = true;  // the kernel dropped notifications; go on draining what is queued
        continue;
      }
      break;  // EAGAIN: nothing more
    }
    if (msg.msg_flags & MSG_TRUNC) {
      lost = true;
      continue;
    }
    int32_t nsid = -1;  // no id attached: this namespace
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_LISTEN_ALL_NSID && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        memcpy(&nsid, CMSG_DATA(c), sizeof nsid);
      }
    }
    const uint32_t len = static_cast<uint32_t>(r);
    memcpy(data + used, &len, sizeof len);
    memcpy(data + used + 4, &nsid, sizeof nsid);
    const size_t step = kDatagramHeader + ((len + 3) & ~3u);
    used = step > cap - used ? cap : used + step;
  }
  return Napi::Number::New(env, lost ? -ENOBUFS : static_cast<double>(used));
}

Napi::Value NetlinkSocket::StartPoll(const Napi::CallbackInfo& info) {
  return poll_.Start(info, this, fd_, this, OnPoll, "linc:link-events", "closed netlink socket", "netlink socket");
}

Napi::Value NetlinkSocket::StopPoll(const Napi::CallbackInfo& info) {
  poll_.Stop(this);
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::Close(const Napi::CallbackInfo& info) {
  poll_.Release(this);
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  return info.Env().Undefined();
}

void NetlinkSocket::OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  NetlinkSocket* s = static_cast<NetlinkSocket*>(handle->data);
  if (s == nullptr) return;
  // ENOBUFS surfaces as a socket error (POLLERR): clear it and keep polling; read() reports the loss.
  if (status < 0 && s->fd_ >= 0) {
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(s->fd_, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == ENOBUFS) s->lost_ = true;
    uv_poll_start(handle, UV_READABLE, OnPoll);
  }
  s->HandlePoll();
}

void NetlinkSocket::HandlePoll() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  poll_.Call(env, Value());
}

}  // namespace

/* openLinkEvents() -> NetlinkSocket */
void InitNetlink(Napi::Env env, Napi::Object exports) {
  ExportFactory(env, exports, "openLinkEvents", NetlinkSocket::Define(env));
}

}  // namespace linc
