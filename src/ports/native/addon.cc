/*
 * Entry point of the linc_native addon (build/Release/linc_native.node).
 * Exports: openTap, openPacket, linkInfo, setLinkUp, tapInfo, closeFd
 * (open.cc) and createIo (io.cc). The typed view is src/ports/native.ts.
 */

#include <napi.h>

#include "sys.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  linc::InitOpen(env, exports);
  linc::InitIo(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(linc_native, Init)
