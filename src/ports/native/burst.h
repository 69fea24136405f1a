/*
 * The pieces the two burst I/O objects (io.cc's Io, ring.cc's RingIo) and
 * the TAP io_uring (uring.cc) share: the burst arrays and status as cached
 * from JS, the one check of createIo's / createRingIo's burst arguments,
 * the pool bounds check, which errors concern one frame only, and the
 * clamp of rx(n) / tx(n)'s n.
 *
 * Invariants
 * - ParseBurstArgs checks every argument once (typed arrays of the right
 *   type, burst arrays of at most kMaxBurst entries, a status array of at
 *   least kStatusLen) and keeps a reference to each JS-owned array, so the
 *   cached pointers stay valid as long as `keep` lives.
 */

#ifndef LINC_NATIVE_BURST_H_
#define LINC_NATIVE_BURST_H_

#include <errno.h>
#include <napi.h>
#include <stddef.h>
#include <stdint.h>

#include <algorithm>
#include <vector>

#include "layout.h"

namespace linc {

/* The burst arrays and status of an Io, as createIo / createRingIo got them (see io.cc for their contract). */
struct BurstArrays {
  uint8_t* pool = nullptr;
  size_t pool_len = 0;
  uint32_t rx_cap = 0;
  uint32_t* rx_off = nullptr;
  uint32_t* rx_len = nullptr;
  uint32_t* rx_tci = nullptr;
  uint32_t* tx_off = nullptr;
  uint32_t* tx_len = nullptr;
  int32_t* status = nullptr;
  uint32_t rx_burst = 0;  // entries of rx_off/rx_len/rx_tci (the shortest)
  uint32_t tx_burst = 0;  // entries of tx_off/tx_len (the shortest)

  /* [off, off + len) lies inside the pool. */
  bool InPool(uint32_t off, uint32_t len) const { return off <= pool_len && len <= pool_len - off; }
};

/* Errors that concern one frame only: skip it and go on with the burst. */
inline bool FrameError(int err) { return err == EINVAL || err == EMSGSIZE || err == EFAULT; }

/* The data pointer and element count of a typed array of the given type, or false. */
template <typename T>
bool TypedArg(const Napi::Value& v, napi_typedarray_type type, T** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != type) return false;
  Napi::ArrayBuffer ab = ta.ArrayBuffer();
  *data = reinterpret_cast<T*>(static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset());
  *len = ta.ElementLength();
  return true;
}

/*
 * info[at .. at+7] = pool: ArrayBuffer, rxOff, rxCap: number, rxLen, rxTci,
 * txOff, txLen (Uint32Array), status: Int32Array. Fills *a and references
 * the JS objects in *keep; false (nothing kept) when an argument is wrong.
 */
inline bool ParseBurstArgs(const Napi::CallbackInfo& info, size_t at, BurstArrays* a,
                           std::vector<Napi::ObjectReference>* keep) {
  if (info.Length() < at + 8 || !info[at].IsArrayBuffer() || !info[at + 2].IsNumber()) return false;
  const double cap = info[at + 2].As<Napi::Number>().DoubleValue();
  size_t rx_off_n, rx_len_n, rx_tci_n, tx_off_n, tx_len_n, status_n;
  if (!(cap >= 1 && cap <= (1u << 30)) || !TypedArg(info[at + 1], napi_uint32_array, &a->rx_off, &rx_off_n) ||
      !TypedArg(info[at + 3], napi_uint32_array, &a->rx_len, &rx_len_n) ||
      !TypedArg(info[at + 4], napi_uint32_array, &a->rx_tci, &rx_tci_n) ||
      !TypedArg(info[at + 5], napi_uint32_array, &a->tx_off, &tx_off_n) ||
      !TypedArg(info[at + 6], napi_uint32_array, &a->tx_len, &tx_len_n) ||
      !TypedArg(info[at + 7], napi_int32_array, &a->status, &status_n) || status_n < kStatusLen ||
      rx_off_n > kMaxBurst || rx_len_n > kMaxBurst || rx_tci_n > kMaxBurst || tx_off_n > kMaxBurst ||
      tx_len_n > kMaxBurst) {
    return false;
  }
  Napi::ArrayBuffer pool = info[at].As<Napi::ArrayBuffer>();
  a->pool = static_cast<uint8_t*>(pool.Data());
  a->pool_len = pool.ByteLength();
  a->rx_cap = static_cast<uint32_t>(cap);
  a->rx_burst = static_cast<uint32_t>(std::min(rx_off_n, std::min(rx_len_n, rx_tci_n)));
  a->tx_burst = static_cast<uint32_t>(std::min(tx_off_n, tx_len_n));
  for (size_t i = at; i < at + 8; i++) {
    if (i != at + 2) keep->push_back(Napi::Persistent(info[i].As<Napi::Object>()));
  }
  return true;
}

/* rx(n) / tx(n)'s n, at most `burst` entries; 0 for n <= 0. */
inline uint32_t BurstCount(const Napi::CallbackInfo& info, uint32_t burst) {
  const int32_t n = info[0].As<Napi::Number>().Int32Value();
  if (n <= 0) return 0;
  return static_cast<uint32_t>(n) < burst ? static_cast<uint32_t>(n) : burst;
}

}  // namespace linc

#endif  // LINC_NATIVE_BURST_H_
