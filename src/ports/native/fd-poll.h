/*
 * FdPoll: the libuv readiness handle of one fd, shared by the per-port Io
 * (io.cc) and the link-notification socket (netlink.cc).
 *
 * Invariants
 * - The handle is created on the first Start() and lives until Release();
 *   Release() must run before the fd is closed (uv_close takes the fd out of
 *   the loop's epoll set) and frees the handle once libuv is done with it.
 * - `data` of the handle is the owner given to Start(), and nullptr after
 *   Release(), so a callback already queued finds no owner and does nothing.
 */

#ifndef LINC_NATIVE_FD_POLL_H_
#define LINC_NATIVE_FD_POLL_H_

#include <napi.h>
#include <uv.h>

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

}  // namespace linc

#endif  // LINC_NATIVE_FD_POLL_H_
