/*
 * FdPoll (fd-poll.h): create, start, stop and release one uv_poll_t;
 * Readable: startPoll/stopPoll and the callback of the objects that own one.
 */

#include "fd-poll.h"

#include <cerrno>

#include "sys.h"

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

Napi::Value Readable::Start(const Napi::CallbackInfo& info, Napi::Reference<Napi::Object>* self, int fd, void* owner,
                            uv_poll_cb cb, const char* resource, const char* closed_subject, const std::string& subject) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) return ThrowType(env, "startPoll(callback): callback must be a function");
  if (fd < 0) return ThrowSys(env, EBADF, "uv_poll_start", closed_subject);
  if (async_ctx_ == nullptr) async_ctx_ = std::make_unique<Napi::AsyncContext>(env, resource);
  on_readable_ = Napi::Persistent(info[0].As<Napi::Function>());
  const char* what = "";
  int err = poll_.Start(env, fd, owner, cb, &what);
  if (err != 0) return ThrowSys(env, err, what, subject);
  if (!polling_) {
    polling_ = true;
    self->Ref();
  }
  return env.Undefined();
}

void Readable::Stop(Napi::Reference<Napi::Object>* self) {
  poll_.Stop();
  if (Stopped()) self->Unref();
}

void Readable::Release(Napi::Reference<Napi::Object>* self) {
  poll_.Release();
  if (Stopped()) self->Unref();
}

void Readable::Call(Napi::Env env, Napi::Object self) {
  if (on_readable_.IsEmpty()) return;
  on_readable_.MakeCallback(self, std::initializer_list<napi_value>{}, *async_ctx_);
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace linc
