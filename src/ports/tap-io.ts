/*
 * How a TAP port moves its bursts through the kernel, and the choice of it.
 *
 *   uring  one io_uring_enter per burst of reads and one per burst of writes
 *          (the addon's uring.cc, liburing)
 *   rw     one read() or write() per frame (the addon's io.cc loop)
 *   auto   uring when the kernel and the addon have it, else rw (the default)
 *
 * What: the option's values (the `io=` key of a tap port spec, declared
 * by the tap kind, src/ports/kinds/tap.ts), and decideTapIo, the fallback decision: given what
 * was asked and what the addon answered when asked for a ring, which mode the
 * port uses, or why it cannot open. Pure: the caller does the syscall.
 *
 * Invariant: `auto` never fails (io_uring missing, forbidden by
 * kernel.io_uring_disabled, or a build without liburing all mean rw);
 * `uring` asked for explicitly and unavailable fails with one sentence.
 */

import { constants as osConstants } from 'node:os';

export const TAP_IO_MODES = ['auto', 'uring', 'rw'] as const;
export type TapIoMode = (typeof TAP_IO_MODES)[number];
/** What a TAP port ends up using. */
export type TapIoInUse = Exclude<TapIoMode, 'auto'>;

/** The errno's name (ENOSYS, EPERM, ...), or its number. */
export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

/** Why the kernel or the build refused io_uring, in words. */
export function uringRefusal(errno: number): string {
  const name = errnoName(errno);
  if (name === 'ENOSYS') return 'io_uring is not available (ENOSYS: the kernel has none, or the addon was built without liburing)';
  if (name === 'EPERM' || name === 'EACCES') return `io_uring is not permitted (${name}: kernel.io_uring_disabled, or a seccomp filter)`;
  if (name === 'ENOMEM') return 'io_uring cannot get its memory (ENOMEM: RLIMIT_MEMLOCK)';
  return `io_uring setup failed (${name})`;
}

export type TapIoDecision =
  | { readonly use: TapIoInUse; readonly fallback: string | null }
  | { readonly error: string; readonly errno: number };

/**
 * The mode a TAP port uses: `tryUring` asks the addon for a ring (0, or the
 * errno that refused it) and is called only when uring is wanted.
 * `fallback` is the sentence saying why auto chose rw, null otherwise.
 */
export function decideTapIo(requested: TapIoMode, tryUring: () => number): TapIoDecision {
  if (requested === 'rw') return { use: 'rw', fallback: null };
  const errno = tryUring();
  if (errno === 0) return { use: 'uring', fallback: null };
  if (requested === 'uring') return { error: `${uringRefusal(errno)}; use io=rw or io=auto`, errno };
  return { use: 'rw', fallback: uringRefusal(errno) };
}
