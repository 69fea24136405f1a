/*
 * Interface locks: one switch per interface. Before a switch opens an
 * `if:` or `tap:` port it takes an exclusive flock (the addon's lockFile) on
 * a file named for the interface and its network namespace, under
 * /run/linc-ts/interfaces (see defaultLockDir), and writes
 * who holds it (pid, admin socket) into it. A second switch asking for the
 * same interface is refused with one sentence naming the holder.
 *
 * Invariants
 * - The kernel releases a lock when its holder exits, however it exits: a
 *   crashed switch never blocks the next one (a leftover file is harmless).
 * - Interface names are per network namespace, so the lock is too: the file
 *   name carries the namespace's inode number.
 * - release() removes the file while still holding the lock, then closes
 *   it (lockFile re-checks the inode, so a racing locker never ends up
 *   holding a removed file). Idempotent.
 * - Slow path only; refusals are InterfaceLockError, never a crash.
 */

import { accessSync, closeSync, constants, fstatSync, ftruncateSync, mkdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNativeSysError, loadNative } from './native.js';

/** Who holds a lock: written into the lock file, read back by the switch that is refused. */
export interface LockHolder {
  pid: number;
  /** The holder's admin socket, or null when it has none. */
  adminSocket: string | null;
}

/** The interface is locked by another switch (or cannot be locked); the message is the sentence to show. */
export class InterfaceLockError extends Error {
  readonly code = 'LINC_ERR_INTERFACE_LOCKED';
  constructor(
    message: string,
    /** The holder as its lock file says, when it could be read. */
    readonly holder: LockHolder | null,
  ) {
    super(message);
    this.name = 'InterfaceLockError';
  }
}

export interface InterfaceLock {
  readonly interfaceName: string;
  readonly path: string;
  release(): void;
}

/**
 * Where the lock files live: /run/linc-ts/interfaces as root, or when
 * /run/linc-ts is writable (the systemd unit's RuntimeDirectory, for its
 * unprivileged user); else under the user's runtime directory.
 */
export function defaultLockDir(uid = process.getuid?.() ?? 0, env: NodeJS.ProcessEnv = process.env): string {
  const shared = '/run/linc-ts';
  if (uid === 0) return join(shared, 'interfaces');
  try {
    accessSync(shared, constants.W_OK);
    return join(shared, 'interfaces');
  } catch {
    // not ours: a per-user place
  }
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'linc-ts', 'interfaces');
  return join(tmpdir(), `linc-ts-${uid}`, 'interfaces');
}

/** This process's network namespace, as a number stable while it exists (its nsfs inode). */
function netnsId(): string {
  try {
    return String(statSync('/proc/thread-self/ns/net').ino);
  } catch {
    return 'net';
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof h.pid !== 'number') return null;
    return { pid: h.pid, adminSocket: typeof h.adminSocket === 'string' ? h.adminSocket : null };
  } catch {
    return null;
  }
}

function describeHolder(h: LockHolder | null): string {
  if (h === null) return 'another linc-ts switch';
  return `another linc-ts switch (pid ${h.pid}${h.adminSocket !== null ? `, admin socket ${h.adminSocket}` : ''})`;
}

/** Take the lock of interface `name` for `holder`; throws InterfaceLockError when another switch has it. */
export function lockInterface(name: string, holder: LockHolder, dir = defaultLockDir()): InterfaceLock {
  const path = join(dir, `${netnsId()}-${name}.lock`);
  let fd: number;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    fd = loadNative().lockFile(path);
  } catch (e) {
    if (isNativeSysError(e) && (e.code === 'EAGAIN' || e.code === 'EWOULDBLOCK')) {
      const h = readHolder(path);
      throw new InterfaceLockError(`interface ${name} is in use by ${describeHolder(h)}`, h);
    }
    throw new InterfaceLockError(`cannot lock interface ${name} (${path}): ${(e as Error).message}`, null);
  }
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, JSON.stringify(holder) + '\n', 0);
  } catch {
    // the lock is what counts; the note about its holder is best effort
  }
  let released = false;
  return {
    interfaceName: name,
    path,
    release() {
      if (released) return;
      released = true;
      try {
        if (statSync(path).ino === fstatSync(fd).ino) unlinkSync(path); // still ours: nobody replaced it
      } catch {
        /* already gone */
      }
      closeSync(fd);
    },
  };
}
