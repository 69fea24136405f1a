/*
 * FdPoll (fd-poll.h): create, start, stop and release one uv_poll_t.
 */

#include "fd-poll.h"

#include <cerrno>

namespace linc {

int FdPoll::Start(Napi::Env env, int fd, void* owner, uv_poll_cb cb, const char** what) {
  if (poll_ == nullptr) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
      *what = "napi_get_uv_event_loop";
      return EINVAL;
    }
    poll_ = new uv_poll_t;
    int rc = uv_poll_init(loop, poll_, fd);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      *what = "uv_poll_init";
      return -rc;
    }
    poll_->data = owner;
  }
  int rc = uv_poll_start(poll_, UV_READABLE, cb);
  if (rc != 0) {
    *what = "uv_poll_start";
    return -rc;
  }
  return 0;
}

bool FdPoll::Restart(uv_poll_cb cb) {
  return poll_ != nullptr && uv_poll_start(poll_, UV_READABLE, cb) == 0;
}

void FdPoll::Stop() {
  if (poll_ != nullptr) uv_poll_stop(poll_);
}

void FdPoll::Release() {
  if (poll_ == nullptr) return;
  uv_poll_t* h = poll_;
  poll_ = nullptr;
  h->data = nullptr;
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(h))) {
    uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* closed) { delete reinterpret_cast<uv_poll_t*>(closed); });
  }
}

}  // namespace linc
