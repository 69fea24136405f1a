/*
 * Port-open errors: turns what the native open calls throw
 * ({code, errno, syscall}) into one English sentence that names the port and
 * the cause, e.g.
 *   "cannot open TAP tap0: permission denied: linc-ts needs root or CAP_NET_ADMIN"
 * The result keeps `code` (the errno name) so callers can branch on it.
 * What differs between kinds (the device's noun, the privileges it needs)
 * comes from the kind as DeviceWords; nothing here names a kind.
 * Slow path only: runs once per failed open.
 */

import { isNativeSysError } from './native.js';

/** Longest Linux interface name (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

/** How the sentences speak of one kind of device. */
export interface DeviceWords {
  /** "cannot open <noun> <name>": 'TAP', 'interface'. */
  readonly noun: string;
  /** Who may open it: 'root or CAP_NET_ADMIN'. */
  readonly privileges: string;
  /** ENOENT/ENXIO (outside /dev/net/tun) means the interface does not exist; otherwise the syscall's own words are kept. */
  readonly enoentIsMissing: boolean;
}

export class PortOpenError extends Error {
  /** errno name: 'EPERM', 'ENOENT', 'EBUSY', 'ENODEV', ... */
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly port: string;

  constructor(message: string, code: string, errno: number, syscall: string, port: string) {
    super(message);
    this.name = 'PortOpenError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.port = port;
  }
}

function subject(words: DeviceWords, name: string): string {
  return `cannot open ${words.noun} ${name}`;
}

/** Check an interface name before any syscall; returns the sentence, or null when it is acceptable. */
export function checkIfName(words: DeviceWords, name: string): PortOpenError | null {
  const s = subject(words, name === '' ? '(empty name)' : name);
  if (name === '') return new PortOpenError(`${s}: the interface name is empty`, 'EINVAL', 22, 'check', name);
  if (Buffer.byteLength(name) > IFNAME_MAX) {
    return new PortOpenError(
      `${s}: the name is ${Buffer.byteLength(name)} bytes long but Linux interface names have at most ${IFNAME_MAX}`,
      'ENAMETOOLONG',
      36,
      'check',
      name,
    );
  }
  if (/[\s/:]/.test(name) || name === '.' || name === '..') {
    return new PortOpenError(`${s}: the name contains a character Linux does not allow in interface names`, 'EINVAL', 22, 'check', name);
  }
  return null;
}

function cause(words: DeviceWords, code: string, syscall: string): string | null {
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return `permission denied: linc-ts needs ${words.privileges}`;
    case 'ENOENT':
    case 'ENXIO':
      if (syscall.includes('/dev/net/tun')) return '/dev/net/tun does not exist (load the tun module)';
      return words.enoentIsMissing ? 'no such interface' : null;
    case 'ENODEV':
      if (syscall.includes('/dev/net/tun')) return '/dev/net/tun does not exist (load the tun module)';
      return 'no such interface';
    case 'EBUSY':
      return 'it is in use by another process (EBUSY)';
    case 'EINVAL':
      if (syscall === 'TUNSETIFF') return 'an interface of that name exists but is not a TAP this switch can attach to (EINVAL)';
      return null;
    case 'ENAMETOOLONG':
      return `the name is too long: Linux interface names have at most ${IFNAME_MAX} bytes`;
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files (raise the file descriptor limit)';
    case 'ENETDOWN':
      return 'the interface is down and cannot be brought up';
    default:
      return null;
  }
}

/** Wrap whatever an open call threw into a PortOpenError naming the port. */
export function describeOpenError(words: DeviceWords, name: string, e: unknown): PortOpenError {
  if (e instanceof PortOpenError) return e;
  if (!isNativeSysError(e)) {
    const msg = e instanceof Error ? e.message : String(e);
    return new PortOpenError(`${subject(words, name)}: ${msg}`, 'EUNKNOWN', 0, '', name);
  }
  const why = cause(words, e.code, e.syscall);
  // The native message reads "<syscall> <name>: <strerror>"; keep only the strerror part.
  const strerror = e.message.slice(e.message.lastIndexOf(': ') + 2);
  const text = why ?? `${e.syscall} failed: ${strerror.toLowerCase()} (${e.code})`;
  return new PortOpenError(`${subject(words, name)}: ${text}`, e.code, e.errno, e.syscall, name);
}

/**
 * The one line a packet port logs when the kernel refuses a faster I/O mode
 * (`what`: 'kernel rings', 'AF_XDP') and it falls back to recvmmsg/sendmmsg
 * on the same socket: "port NAME: WHAT unavailable (SYSCALL: CODE): using recvmmsg/sendmmsg".
 */
export function mmsgFallbackNotice(portName: string, what: string, e: unknown): string {
  const why = isNativeSysError(e) ? `${e.syscall}: ${e.code}` : e instanceof Error ? e.message : String(e);
  return `port ${portName}: ${what} unavailable (${why}): using recvmmsg/sendmmsg`;
}
