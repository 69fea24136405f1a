/*
 * reclaimMemory(): give an idle process's free memory back to the system
 * (slow path, called by src/memory-reclaim.ts after a large drop in flows).
 * Tells V8 the system is under critical memory pressure (a full collection
 * that also shrinks the young generation and releases pooled pages), then
 * asks glibc to return its free heap pages (malloc_trim: ArrayBuffer
 * backing stores and other native allocations freed by that collection).
 * Must run on the main JS thread; never throws.
 */

#include <malloc.h>
#include <napi.h>
#include <v8.h>

#include "sys.h"

namespace linc {

namespace {

Napi::Value ReclaimMemory(const Napi::CallbackInfo& info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kCritical);
#ifdef __GLIBC__
  malloc_trim(0);
#endif
  return info.Env().Undefined();
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("reclaimMemory", Napi::Function::New(env, ReclaimMemory, "reclaimMemory"));
}

}  // namespace linc
