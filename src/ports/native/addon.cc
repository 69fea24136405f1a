/*
 * Entry point of the linc_native addon (build/Release/linc_native.node).
 * Exports: openTap, openPacket, linkInfo, setLinkUp, tapInfo, closeFd
 * (open.cc), createIo (io.cc), openLinkEvents (netlink.cc), lockFile
 * (lock.cc), packetStats, tapDevStats (drops.cc),
 * reclaimMemory (memory.cc), createRingIo (ring.cc), createXdpIo (xdp.cc), and `constants`: the layout shared with
 * TypeScript (layout.h) plus the errno values the hot path reports, under
 * the names src/ports/native-layout.ts gives them. src/ports/native.ts is
 * the typed view and checks `constants` when it loads the addon.
 */

#include <errno.h>
#include <napi.h>

#include "layout.h"
#include "sys.h"

namespace {

void InitConstants(Napi::Env env, Napi::Object exports) {
  struct Named {
    const char* name;
    double value;
  };
  const Named table[] = {
      {"IO_KIND_TAP", linc::kIoKindTap},
      {"IO_KIND_PACKET", linc::kIoKindPacket},
      {"STATUS_LAST_ERRNO", linc::kLastErrno},
      {"STATUS_RX_TRUNCATED", linc::kRxTruncated},
      {"STATUS_TX_REJECTED", linc::kTxRejected},
      {"STATUS_TX_STOPPED", linc::kTxStopped},
      {"STATUS_LEN", linc::kStatusLen},
      {"RX_TCI_PRESENT", linc::kRxTciPresent},
      {"RX_TCI_TPID_8021AD", linc::kRxTciTpid8021ad},
      {"MAX_BURST", linc::kMaxBurst},
      {"VNET_HDR_LEN", linc::kVnetHdrLen},
      {"ERRNO_EAGAIN", EAGAIN},
      {"ERRNO_ENOBUFS", ENOBUFS},
      {"ERRNO_EINVAL", EINVAL},
      {"ERRNO_ENODEV", ENODEV},
  };
  Napi::Object constants = Napi::Object::New(env);
  for (const Named& c : table) constants.Set(c.name, Napi::Number::New(env, c.value));
  constants.Freeze();
  exports.Set("constants", constants);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  linc::InitOpen(env, exports);
  linc::InitIo(env, exports);
  linc::InitNetlink(env, exports);
  linc::InitLock(env, exports);
  linc::InitDrops(env, exports);
  linc::InitMemory(env, exports);
  linc::InitRing(env, exports);
  linc::InitXdp(env, exports);
  InitConstants(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(linc_native, Init)
