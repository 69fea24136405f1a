/*
 * PolledIo<T>: what the three burst I/O objects (io.cc's Io, ring.cc's
 * RingIo, xdp.cc's XdpIo) share around their fd: the burst arrays, the
 * readiness handle, and startPoll/stopPoll with the libuv callback behind
 * them, and close()/releaseFd(). T (CRTP) frees what it holds besides the
 * fd in FreeSide(), says which fd to watch (PollFd), how to name it in an
 * error (PollSubject), and which socket, if any, holds a pending error to
 * clear when libuv reports one (PollErrorFd, -1: none). Also the argument
 * check of the factories over a packet socket (createRingIo, createXdpIo).
 *
 * Invariants
 * - The uv handle's data is the T object (set by startPoll), so OnPoll
 *   reaches it without a lookup; after Release it is nullptr (fd-poll.h).
 * - A socket error that libuv reported as POLLERR (a packet socket's
 *   ENETDOWN when its link goes down) is cleared and polling goes on (the
 *   kernel re-arms the socket when the link comes back); any other error,
 *   or none pending, leaves the handle stopped and drops the self reference.
 */

#ifndef LINC_NATIVE_BURST_IO_H_
#define LINC_NATIVE_BURST_IO_H_

#include <napi.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <string>
#include <vector>

#include "burst.h"
#include "fd-poll.h"
#include "layout.h"
#include "sys.h"

namespace linc {

template <typename T>
class PolledIo : public Napi::ObjectWrap<T> {
 public:
  explicit PolledIo(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {}

  /* startPoll(callback): call callback (this = the object) whenever T's PollFd() is readable. */
  Napi::Value StartPoll(const Napi::CallbackInfo& info) {
    T* self = static_cast<T*>(this);
    return poll_.Start(info, this, self->PollFd(), self, OnPoll, "linc:port-poll", "closed port", self->PollSubject());
  }

  /* stopPoll(): stop watching; a later startPoll watches again. */
  Napi::Value StopPoll(const Napi::CallbackInfo& info) {
    poll_.Stop(this);
    return info.Env().Undefined();
  }

  /* close(): stop polling, free T's side, close the fd; idempotent. */
  Napi::Value Close(const Napi::CallbackInfo& info) {
    const int fd = Detach();
    if (fd >= 0) close(fd);
    return info.Env().Undefined();
  }

  /*
   * releaseFd() -> fd | -1: like close(), but the fd is handed to the caller
   * instead of closed (the caller closes it on a worker thread, so the main
   * loop never waits for the kernel to tear a device down). The poll handle
   * is closed first, which takes the fd out of the event loop's epoll set.
   */
  Napi::Value ReleaseFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Detach()); }

 protected:
  /* For T's destructor: a polling object is referenced by itself, so here the handle is idle (or the env is tearing down). */
  void CloseAll() {
    poll_.ReleaseHandle();
    static_cast<T*>(this)->FreeSide();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  /* Release the poll handle (before the fd is closed or handed over), free T's side: the fd, now the caller's. */
  int Detach() {
    poll_.Release(this);
    static_cast<T*>(this)->FreeSide();
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

  /*
   * The arguments of a factory over a packet socket (createRingIo, createXdpIo): (fd, pool, rxOff, rxCap, rxLen,
   * rxTci, txOff, txLen, status, {ifindex, vnetHdr, <extra>}). Fills a_/keep_ and the out-parameters; false after
   * throwing a TypeError that names `factory` and its arguments.
   */
  bool ParseSocketIoArgs(const Napi::CallbackInfo& info, const char* factory, const char* extra, int* fd, int* ifindex,
                         bool* vnet, Napi::Object* opts) {
    if (!info[0].IsNumber() || !info[9].IsObject() || !ParseBurstArgs(info, 1, &a_, &keep_)) {
      const std::string usage = std::string(factory) +
                                "(fd, pool: ArrayBuffer, rxOff, rxCap, rxLen, rxTci, txOff, txLen (Uint32Array), "
                                "status: Int32Array, {ifindex, vnetHdr, " + extra + "})";
      ThrowType(info.Env(), usage.c_str());
      return false;
    }
    *opts = info[9].As<Napi::Object>();
    *ifindex = opts->Get("ifindex").ToNumber().Int32Value();
    *vnet = opts->Get("vnetHdr").ToBoolean().Value();
    *fd = info[0].As<Napi::Number>().Int32Value();
    return true;
  }

  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    T* io = static_cast<T*>(handle->data);
    if (io != nullptr) io->HandlePoll(status);
  }

  void HandlePoll(int status) {
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    Napi::Object self = this->Value();  // keeps us alive through the callback even if it closes us
    bool release = false;
    if (status < 0) {
      // libuv stopped the handle on POLLERR: clear a pending socket error and keep polling, or stay stopped.
      const int err_fd = static_cast<T*>(this)->PollErrorFd();
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      if (err_fd >= 0 && getsockopt(err_fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr != 0 &&
          poll_.Restart(OnPoll)) {
        a_.status[kLastErrno] = soerr;
      } else {
        a_.status[kLastErrno] = -status;
        release = poll_.Stopped();
      }
    }
    poll_.Call(env, self);
    if (release) this->Unref();
  }

  int fd_ = -1;  // the port's fd (TAP or packet socket)
  Readable poll_;
  BurstArrays a_;
  std::vector<Napi::ObjectReference> keep_;  // the JS-owned memory a_ points into
};

}  // namespace linc

#endif  // LINC_NATIVE_BURST_IO_H_
