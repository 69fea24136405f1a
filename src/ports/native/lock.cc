/*
 * lockFile(path) -> fd: an exclusive, non-blocking flock on `path` (created
 * when missing, mode 0644), held until the fd is closed or the process ends.
 * Syscalls only; src/ports/interface-lock.ts decides what is locked, writes
 * the holder into the file and reads it back for the refusal sentence.
 *
 * Invariants
 * - The fd returned is close-on-exec and locks the file that `path` names
 *   at return: a file unlinked by its previous holder between our open and
 *   our flock is detected (inode comparison) and opened again.
 * - Throws Error{code, errno, syscall}: EWOULDBLOCK (EAGAIN) from flock when
 *   another open file holds the lock.
 */

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "sys.h"

namespace linc {

namespace {

/* Attempts when the file keeps being replaced under us (each one is a race lost to a releasing holder). */
constexpr int kLockAttempts = 8;

Napi::Value LockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowType(env, "lockFile(path): path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  for (int attempt = 0; attempt < kLockAttempts; attempt++) {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return ThrowSys(env, errno, "open", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
      const int err = errno;
      close(fd);
      return ThrowSys(env, err, "flock", path);
    }
    struct stat held, named;
    if (fstat(fd, &held) == 0 && stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
      return Napi::Number::New(env, fd);
    }
    close(fd);  // the holder removed the file as we locked it: lock the file that is there now
  }
  return ThrowSys(env, EAGAIN, "flock", path);
}

}  // namespace

void InitLock(Napi::Env env, Napi::Object exports) {
  exports.Set("lockFile", Napi::Function::New(env, LockFile, "lockFile"));
}

}  // namespace linc
