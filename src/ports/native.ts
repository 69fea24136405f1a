/*
 * The typed face of the linc_native addon (src/ports/native/*.cc, built by
 * node-gyp into build/Release/linc_native.node).
 *
 * What: loads the addon lazily (first call to `loadNative()`), so modules that
 * only import types still load where the addon is not built; gives the
 * untyped binding an interface; and, before handing the addon out, checks
 * that the layout it was compiled with (its `constants`: status indices, Io
 * kinds, flag bits, burst limit, errno values) is the one declared in
 * src/ports/native-layout.ts. A stale or mismatched addon is refused with one
 * NativeLayoutError naming each constant and both values, never used.
 *
 * Contracts (the native side documents the details in io.cc):
 * - openTap, openPacket, linkInfo, setLinkUp, tapInfo, openLinkEvents,
 *   packetStats, tapDevStats and lockFile are slow path and may throw
 *   NativeSysError {code, errno, syscall}; src/ports/open-errors.ts turns
 *   that into a sentence for the user.
 * - NativeIo.rx/tx are the hot path: one call per burst, never throw, return
 *   counts or -errno, and write into the arrays given to createIo.
 */

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATIVE_CONSTANTS } from './native-layout.js';

/**
 * The burst arrays and status createIo and createRingIo take, in this order (burst.h):
 * the frame pool, where each received frame goes (rxOff, at most rxCap bytes), what rx wrote
 * (rxLen, rxTci), the frames tx sends (txOff, txLen), and the status words (io.cc).
 */
type NativeBurstArgs = [
  pool: ArrayBuffer,
  rxOff: Uint32Array,
  rxCap: number,
  rxLen: Uint32Array,
  rxTci: Uint32Array,
  txOff: Uint32Array,
  txLen: Uint32Array,
  status: Int32Array,
];

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
  /** Stop polling and hand the fd over without closing it (-1 when already closed or released). */
  releaseFd(): number;
  /** TAP only: move bursts through an io_uring from now on; 0, or the errno that refused it (ENOSYS, EPERM, ...), leaving read/write in place. */
  useUring(): number;
}

/** An Io on a packet socket's kernel rings (createRingIo): a NativeIo that can also kick frames left in its tx ring. */
export interface NativeRingIo extends NativeIo {
  /** Kick the tx ring again: 1 while frames still wait in it (a full send buffer), 0 when none does, or -errno. */
  kick(): number;
}

/** An Io on an AF_XDP socket (createXdpIo): a NativeIo that can also say the kernel's drops so far. */
export interface NativeXdpIo extends NativeIo {
  /** Frames the kernel could not put into the socket's rx ring since it was made (XDP_STATISTICS), or -1. */
  kernelDrops(): number;
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
  /** In another namespace: its interface flags (IFF_UP, IFF_RUNNING, ...) read there; null when not read (same namespace, or the kernel does not let us). */
  flags: number | null;
  /** In another namespace: its MTU read there, or null (as flags). */
  mtu: number | null;
}

/** The NETLINK_ROUTE socket of openLinkEvents (netlink.cc): raw link notifications, parsed in src/ports/link-events.ts. */
export interface NativeNetlinkSocket {
  /** Whole datagrams into buf; the byte count, 0 when none waits, or -ENOBUFS when notifications were lost. Never throws. */
  read(buf: Uint8Array): number;
  /** Call `onReadable` once per wakeup of the socket; while polling it keeps the event loop alive. */
  startPoll(onReadable: () => void): void;
  stopPoll(): void;
  /** Idempotent. */
  close(): void;
}

export interface NativeBinding {
  /** The layout the addon was compiled with (src/ports/native/layout.h), by the names of native-layout.ts. */
  readonly constants: Readonly<Record<string, number>>;
  openTap(name: string, opts: { vnetHdr: boolean; offloads: boolean }): { fd: number; name: string; created: boolean };
  openPacket(ifname: string, opts: { vnetHdr: boolean }): { fd: number; ifindex: number };
  /** null when no interface of that name is in this network namespace. */
  linkInfo(name: string): NativeLinkInfo | null;
  setLinkUp(name: string): void;
  /** null when the TAP behind fd no longer exists. */
  tapInfo(fd: number): NativeTapInfo | null;
  closeFd(fd: number): void;
  /** A socket on the kernel's link notifications (RTM_NEWLINK/RTM_DELLINK) of this network namespace. */
  openLinkEvents(): NativeNetlinkSocket;
  /** PACKET_STATISTICS of an AF_PACKET socket since the last read (the kernel zeroes them on read): frames dropped, and frames seen with them. */
  packetStats(fd: number): { packets: number; drops: number };
  /** The TAP behind fd (its current name) and /proc/net/dev as its namespace shows it; null when the TAP is gone. */
  tapDevStats(fd: number): { name: string; text: string } | null;
  /** An exclusive non-blocking flock on path (created if missing): the fd holding it; throws EAGAIN when another holds it. */
  lockFile(path: string): number;
  /** Critical memory pressure to V8 (a shrinking full GC), then malloc_trim: free memory back to the system. Never throws. */
  reclaimMemory(): void;
  /**
   * The TPACKET_V3 rx ring and tx ring of a bound packet socket (ring.cc), with the burst arrays of createIo.
   * Throws NativeSysError naming the step that failed, after undoing the steps before it (the fd stays a plain socket).
   */
  createRingIo(fd: number, ...args: [...NativeBurstArgs, opts: { ifindex: number; vnetHdr: boolean; blockSize: number; sndBuf?: number }]): NativeRingIo;
  createIo(fd: number, kind: number, ...burst: NativeBurstArgs): NativeIo;
  /**
   * An AF_XDP socket in copy mode with its XDP program attached (linkFlags) on the packet socket's interface (xdp.cc), with
   * the burst arrays of createIo. Throws NativeSysError naming the step that failed, after undoing the steps before it.
   */
  createXdpIo(fd: number, ...args: [...NativeBurstArgs, opts: { ifindex: number; vnetHdr: boolean; linkFlags: number }]): NativeXdpIo;
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

/** The addon's layout constants differ from src/ports/native-layout.ts (or it has none). */
export class NativeLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NativeLayoutError';
  }
}

/** A value for the message: flag bits also in hex. */
function show(v: unknown): string {
  if (typeof v !== 'number') return JSON.stringify(v) ?? String(v);
  return Number.isInteger(v) && v >= 0x1000 ? `${v} (0x${v.toString(16)})` : String(v);
}

/**
 * Compare the addon's `constants` with the TypeScript declarations, both
 * ways; throws a NativeLayoutError listing every constant that differs, is
 * missing on one side, or is not a number. `where` names the addon file.
 */
export function checkNativeConstants(binding: unknown, where: string, expected: Readonly<Record<string, number>> = NATIVE_CONSTANTS): void {
  const fix = 'rebuild the addon with npm run build; if that does not help, src/ports/native/layout.h and src/ports/native-layout.ts disagree';
  const got = (binding as { constants?: unknown } | null)?.constants;
  if (typeof got !== 'object' || got === null) {
    throw new NativeLayoutError(`the native addon ${where} exports no layout constants (built from older sources?): ${fix}`);
  }
  const actual = got as Record<string, unknown>;
  const wrong: string[] = [];
  for (const [name, want] of Object.entries(expected)) {
    if (!(name in actual)) wrong.push(`${name} is missing from the addon (TypeScript: ${show(want)})`);
    else if (actual[name] !== want) wrong.push(`${name} is ${show(actual[name])} in the addon but ${show(want)} in TypeScript`);
  }
  for (const name of Object.keys(actual)) {
    if (!(name in expected)) wrong.push(`${name} is ${show(actual[name])} in the addon but not declared in TypeScript`);
  }
  if (wrong.length > 0) {
    throw new NativeLayoutError(`the native addon ${where} does not match src/ports/native-layout.ts: ${wrong.join('; ')} (${fix})`);
  }
}

let cached: NativeBinding | null = null;

/** The addon, loaded on first use and checked against native-layout.ts. Throws a clear error when it is not built or does not match. */
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
  const binding = require(path) as NativeBinding;
  checkNativeConstants(binding, path);
  cached = binding;
  return cached;
}
