/*
 * FdPoll: the libuv readiness handle of one fd, shared by the per-port Io
 * (io.cc), RingIo (ring.cc) and the link-notification socket (netlink.cc).
 * Readable: the rest of their startPoll/stopPoll/close machinery around it
 * (the JS callback, its async context, the reference the object holds to
 * itself while polling).
 *
 * Invariants
 * - The handle is created on the first Start() and lives until Release();
 *   Release() must run before the fd is closed (uv_close takes the fd out of
 *   the loop's epoll set) and frees the handle once libuv is done with it.
 * - `data` of the handle is the owner given to Start(), and nullptr after
 *   Release(), so a callback already queued finds no owner and does nothing.
 * - A polling object (Readable::polling_) holds one reference to itself, so
 *   it is not collected while libuv may call it; Stop/Release/Stopped drop it.
 */

#ifndef LINC_NATIVE_FD_POLL_H_
#define LINC_NATIVE_FD_POLL_H_

#include <napi.h>
#include <uv.h>

#include <memory>
#include <string>

namespace linc {

class FdPoll {
 public:
  /* Watch `fd` for readability with `cb` (handle->data = owner). 0, or a positive errno from the syscall named in *what. */
  int Start(Napi::Env env, int fd, void* owner, uv_poll_cb cb, const char** what);
  /* Re-arm after libuv stopped the handle on an error; false when there is no handle or it failed. */
  bool Restart(uv_poll_cb cb);
  /* Stop watching (the handle is kept for a later Start). */
  void Stop();
  /* Close and free the handle (before the fd is closed). */
  void Release();

 private:
  uv_poll_t* poll_ = nullptr;
};

class Readable {
 public:
  /*
   * startPoll(callback) of `self`: watch `fd` (handle->data = owner) and call
   * callback when it is readable; throws a TypeError for a bad callback,
   * NativeSysError(closed_subject) on a closed fd, NativeSysError(subject)
   * when libuv refuses.
   */
  Napi::Value Start(const Napi::CallbackInfo& info, Napi::Reference<Napi::Object>* self, int fd, void* owner,
                    uv_poll_cb cb, const char* resource, const char* closed_subject, const std::string& subject);
  /* stopPoll(): stop watching (the handle is kept) and drop the self reference. */
  void Stop(Napi::Reference<Napi::Object>* self);
  /* Close and free the handle (before the fd is closed or handed over) and drop the self reference. */
  void Release(Napi::Reference<Napi::Object>* self);
  /* Close and free the handle only (destructor: a polling object is never collected). */
  void ReleaseHandle() { poll_.Release(); }
  bool Restart(uv_poll_cb cb) { return poll_.Restart(cb); }
  /* libuv stopped the handle for good: no longer polling; true when the caller is to drop the self reference. */
  bool Stopped() {
    const bool was = polling_;
    polling_ = false;
    return was;
  }
  /* Call the callback with `self` as this; an exception it throws is fatal, as in any libuv callback. */
  void Call(Napi::Env env, Napi::Object self);

 private:
  FdPoll poll_;
  bool polling_ = false;
  Napi::FunctionReference on_readable_;
  std::unique_ptr<Napi::AsyncContext> async_ctx_;
};

}  // namespace linc

#endif  // LINC_NATIVE_FD_POLL_H_
