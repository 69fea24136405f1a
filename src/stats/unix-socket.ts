/*
 * Listening on a Unix socket file, for the local endpoints that have one:
 * the admin socket (admin.ts) and OpenFlow punix: listeners
 * (openflow/transport/streams.ts). Here, below both, so the stale-socket
 * and file-mode rules are written once.
 *
 * Invariants
 * - The socket file is created with mode 0600: the umask is held at 0177
 *   while bind() creates it (synchronously inside listen()), then chmod.
 * - An existing path is replaced only when it is a socket nobody answers on
 *   (its server is gone); a live socket or a file that is not a socket is
 *   left alone and SocketPathTaken is thrown (code EADDRINUSE or EEXIST).
 */

import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, type Server } from 'node:net';

/** The path is taken: EEXIST (a file that is not a socket) or EADDRINUSE (a socket something answers on). */
export class SocketPathTaken extends Error {
  constructor(
    path: string,
    why: string,
    readonly code: 'EEXIST' | 'EADDRINUSE',
  ) {
    super(`${path} ${why}`);
  }
}

/** Is something answering on the Unix socket `path`? */
function unixSocketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Makes room for a socket file at `path`; throws SocketPathTaken when the path is taken. */
async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new SocketPathTaken(path, 'exists and is not a socket; not touching it', 'EEXIST');
  if (await unixSocketAlive(path)) throw new SocketPathTaken(path, 'is in use (something answers on it)', 'EADDRINUSE');
  unlinkSync(path); // stale: its server is gone
}

/**
 * Binds `server` (a net.Server, or an http.Server built on one) to the socket
 * file `path`, mode 0600. Rejects with SocketPathTaken, or with the listen error.
 */
export async function listenUnixSocket(server: Server, path: string): Promise<void> {
  await clearStaleSocket(path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const old = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(old);
    }
  });
  chmodSync(path, 0o600);
}
