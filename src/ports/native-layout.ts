/*
 * The TypeScript side of the layout shared with the linc_native addon
 * (src/ports/native/layout.h): createIo's kind argument, the indices of the
 * status array, the rxTci flag bits, the burst limit, the vnet header size
 * and the errno values the ports report in lastErrno.
 *
 * Invariant: every constant in NATIVE_CONSTANTS has the same name and value
 * as one the addon exports in `constants`, and the other way round;
 * src/ports/native.ts checks this when it loads the addon and refuses a
 * mismatch with one error naming the constant and both values. This is the
 * only declaration of these numbers in TypeScript.
 */

import { VNET_HDR_LEN } from '../packet/vnet.js';

/** Kind argument of createIo: a TAP fd (read/write) or an AF_PACKET socket (recvmmsg/sendmmsg). */
export const IO_KIND_TAP = 0;
export const IO_KIND_PACKET = 1;

/** Indices of the status Int32Array shared with a NativeIo. errno of the last failed syscall, 0 if none. */
export const STATUS_LAST_ERRNO = 0;
/** Cumulative count of received frames dropped because they exceeded rxCap. */
export const STATUS_RX_TRUNCATED = 1;
/** Cumulative count of frames the kernel rejected one by one on tx (EINVAL, EMSGSIZE). */
export const STATUS_TX_REJECTED = 2;
/** 1 when the last tx stopped before the end of its burst (queue full or device error). */
export const STATUS_TX_STOPPED = 3;
export const STATUS_LEN = 4;

/** rxTci flags: bits 0..15 are the TCI the kernel stripped; this bit says there was one. */
export const RX_TCI_PRESENT = 0x10000;
/** The stripped tag's TPID was 0x88a8 (802.1ad); without it, 0x8100. */
export const RX_TCI_TPID_8021AD = 0x20000;

/** Most frames one rxBurst/txBurst call moves, for every port kind (the datapath's burst limit too). */
export const MAX_BURST = 256;

/** Linux errno values a port reports (lastErrno, -errno returns): queue full, a bad argument, no device (a port waiting for its interface). */
export const ERRNO_EAGAIN = 11;
export const ERRNO_ENOBUFS = 105;
export const ERRNO_EINVAL = 22;
export const ERRNO_ENODEV = 19;

/** What the addon's `constants` must equal, name for name. */
export const NATIVE_CONSTANTS: Readonly<Record<string, number>> = Object.freeze({
  IO_KIND_TAP,
  IO_KIND_PACKET,
  STATUS_LAST_ERRNO,
  STATUS_RX_TRUNCATED,
  STATUS_TX_REJECTED,
  STATUS_TX_STOPPED,
  STATUS_LEN,
  RX_TCI_PRESENT,
  RX_TCI_TPID_8021AD,
  MAX_BURST,
  VNET_HDR_LEN,
  ERRNO_EAGAIN,
  ERRNO_ENOBUFS,
  ERRNO_EINVAL,
  ERRNO_ENODEV,
});
