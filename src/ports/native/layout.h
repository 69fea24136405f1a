/*
 * The layout the addon shares with TypeScript (src/ports/native-layout.ts):
 * the Io kind argument, the indices of the status array, the rxTci flag
 * bits, the burst limit, the vnet header size and the errno values the hot
 * path reports. Each is declared once here and exported to JS as
 * `constants` (addon.cc); src/ports/native.ts compares them with its own
 * declarations when the addon loads, so a mismatch is one clear error
 * instead of arrays read at the wrong index.
 */

#ifndef LINC_NATIVE_LAYOUT_H_
#define LINC_NATIVE_LAYOUT_H_

#include <stdint.h>

namespace linc {

/* createIo's kind argument. */
enum IoKind : int32_t { kIoKindTap = 0, kIoKindPacket = 1 };

/* Indices of the status Int32Array (see io.cc for what each one counts). */
enum Status : int32_t { kLastErrno = 0, kRxTruncated = 1, kTxRejected = 2, kTxStopped = 3, kStatusLen = 4 };

/* rxTci flags above the 16 TCI bits: a tag was stripped; its TPID was 0x88a8 (else 0x8100). */
constexpr uint32_t kRxTciPresent = 0x10000u;
constexpr uint32_t kRxTciTpid8021ad = 0x20000u;

/* Most frames one rx/tx call moves: createIo refuses longer burst arrays. */
constexpr uint32_t kMaxBurst = 256;

/* Size of the virtio_net_hdr the addon asks TAPs for (TUNSETVNETHDRSZ). */
constexpr int kVnetHdrLen = 10;

}  // namespace linc

#endif  // LINC_NATIVE_LAYOUT_H_
