/*
 * The typed face of the linc_native addon (src/ports/native/*.cc, built by
 * node-gyp into build/Release/linc_native.node).
 *
 * What: loads the addon lazily (first call to `loadNative()`), so modules that
 * only import types still load where the addon is not built; gives the
 * untyped binding an interface; names the layout of the status array.
 *
 * Contracts (the native side documents the details in io.cc):
 * - openTap, openPacket, linkInfo, setLinkUp and tapInfo are slow path and may throw
 *   NativeSysError {code, errno, syscall}; src/ports/open-errors.ts turns
 *   that into a sentence for the user.
 * - NativeIo.rx/tx are the hot path: one call per burst, never throw, return
 *   counts or -errno, and write into the arrays given to createIo.
 */

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Kind argument of createIo. */
export const IO_KIND_TAP = 0;
export const IO_KIND_PACKET = 1;

/** Indices of the status Int32Array shared with a NativeIo. */
export const STATUS_LAST_ERRNO = 0;
/** Cumulative count of received frames dropped because they exceeded rxCap. */
export const STATUS_RX_TRUNCATED = 1;
/** Cumulative count of frames the kernel rejected one by one on tx (EINVAL, EMSGSIZE). */
export const STATUS_TX_REJECTED = 2;
/** 1 when the last tx stopped before the end of its burst (queue full or device error). */
export const STATUS_TX_STOPPED = 3;
export const STATUS_LEN = 4;

/** rxTci flags: bits 0..15 are the TCI the kernel stripped. */
export const RX_TCI_PRESENT = 0x10000;
/** The stripped tag's TPID was 0x88a8 (802.1ad); without it, 0x8100. */
export const RX_TCI_TPID_8021AD = 0x20000;

export const ERRNO_EAGAIN = 11;
export const ERRNO_ENOBUFS = 105;
export const ERRNO_EINVAL = 22;

export interface NativeIo {
  /** Receive up to n frames; returns the count, 0 when nothing is ready, or -errno. */
  rx(n: number): number;
  /** Send frames 0..n; returns the count the kernel took, or -errno when none and a real error. */
  tx(n: number): number;
  /** Call `onReadable` (no arguments) once per wakeup of the fd, on the main loop. */
  startPoll(onReadable: () => void): void;
  stopPoll(): void;
  /** Stop polling and close the fd. Idempotent. */
  close(): void;
}

export interface NativeLinkInfo {
  adminUp: boolean;
  carrier: boolean;
  mtu: number;
  mac: number;
  ifindex: number;
}

export interface NativeTapInfo {
  /** Current name of the TAP (it can be renamed in another namespace). */
  name: string;
  /** Whether the TAP is in this process's network namespace; null if the kernel cannot say. */
  sameNetns: boolean | null;
}

export interface NativeBinding {
  openTap(name: string, opts: { vnetHdr: boolean; offloads: boolean }): { fd: number; name: string; created: boolean };
  openPacket(ifname: string, opts: { vnetHdr: boolean }): { fd: number; ifindex: number };
  /** null when no interface of that name is in this network namespace. */
  linkInfo(name: string): NativeLinkInfo | null;
  setLinkUp(name: string): void;
  /** null when the TAP behind fd no longer exists. */
  tapInfo(fd: number): NativeTapInfo | null;
  closeFd(fd: number): void;
  createIo(
    fd: number,
    kind: number,
    pool: ArrayBuffer,
    rxOff: Uint32Array,
    rxCap: number,
    rxLen: Uint32Array,
    rxTci: Uint32Array,
    txOff: Uint32Array,
    txLen: Uint32Array,
    status: Int32Array,
  ): NativeIo;
}

/** What the native slow-path calls throw. */
export interface NativeSysError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isNativeSysError(e: unknown): e is NativeSysError {
  return e instanceof Error && typeof (e as NativeSysError).code === 'string' && typeof (e as NativeSysError).errno === 'number';
}

const ADDON_RELATIVE = join('build', 'Release', 'linc_native.node');

/** The package root: the nearest ancestor with binding.gyp and a package.json named linc-ts. */
export function findPackageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = from;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'binding.gyp'))) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'linc-ts') return dir;
      } catch {
        // not ours: keep climbing
      }
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

let cached: NativeBinding | null = null;

/** The addon, loaded on first use. Throws a clear error when it is not built. */
export function loadNative(): NativeBinding {
  if (cached !== null) return cached;
  const root = findPackageRoot();
  const path = root === null ? null : join(root, ADDON_RELATIVE);
  if (path === null || !existsSync(path)) {
    throw new Error(
      `the native addon is not built (${path ?? ADDON_RELATIVE} is missing): run npm ci or npm run build`,
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeBinding;
  return cached;
}
