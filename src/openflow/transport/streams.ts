/*
 * The one place that turns an OpenFlow target into a byte stream: a TCP
 * socket (tcp:/ptcp:), a TLS socket (ssl:/pssl:) or a Unix socket (punix:),
 * and the listening servers for the passive forms. The channel and the
 * connection code see a Duplex and never which kind it is.
 *
 * TLS (Node's tls module; credentials from tls-credentials.ts), as Open
 * vSwitch does it: both ends present a certificate and each verifies the
 * other's against the CA certificate (--ca-cert); the host name is not
 * checked (the CA is the trust anchor). A `pssl:` listener requires a
 * client certificate. A peer whose certificate does not verify is refused
 * and logged as one `TLS peer refused` warning (target or listener, peer,
 * Node's error code and reason).
 *
 * punix:PATH: bound by stats/unix-socket.ts (mode 0600; a stale socket file
 * is replaced, a live one or a file that is not a socket is left alone and
 * the listener does not start); server.close() removes the file (libuv
 * unlinks a bound Unix socket when it closes it, synchronously).
 *
 * Invariants
 * - A connecting stream emits connectedEvent(stream) once it can carry
 *   OpenFlow (TCP connected; for TLS the handshake done and the peer's
 *   certificate verified), or 'error'.
 * - A server hands `onConnection` only streams that are ready the same way.
 */

import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, createServer as createTlsServer, TLSSocket } from 'node:tls';
import type { Logger } from '../../stats/log.js';
import { listenUnixSocket } from '../../stats/unix-socket.js';
import type { TlsCredentials } from './tls-credentials.js';

/** What this module needs of a target (connections.ts's ControllerTarget and ListenTarget have it). */
interface StreamTarget {
  spec: string;
  host: string;
  port: number;
  tls?: true;
  path?: string;
}

/** How long a TLS client may take to finish its handshake on a pssl: listener. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export const TLS_PEER_REFUSED = 'TLS peer refused';

/** The event a connecting stream emits when it is ready for OpenFlow. */
export function connectedEvent(stream: Duplex): 'secureConnect' | 'connect' {
  return stream instanceof TLSSocket ? 'secureConnect' : 'connect';
}

function ipText(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return 'unknown';
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** How a listener's peer is named in logs and status: tcp:ADDR:PORT, ssl:ADDR:PORT or unix:PATH. */
export function peerName(socket: Socket, target: StreamTarget): string {
  if (target.path !== undefined) return `unix:${target.path}`;
  return `${target.tls ? 'ssl' : 'tcp'}:${ipText(socket.remoteAddress, socket.remotePort)}`;
}

/** Where a listener is bound, for logs and status: ADDR:PORT ([v6]:PORT) or the socket path. */
export function addressText(a: AddressInfo): string {
  return a.family === 'unix' ? a.address : ipText(a.address, a.port);
}

/** OpenSSL's "...:SSL routines:ssl3_get_record:wrong version number:file:line:" -> "wrong version number". */
function sslReason(e: Error): string {
  const m = /routines:[^:]*:([^:]+)/.exec(e.message);
  return m ? m[1] : e.message.split('\n')[0];
}

function needCredentials(tls: TlsCredentials | null, spec: string): TlsCredentials {
  if (tls === null) throw new Error(`${spec} needs TLS credentials (--private-key, --certificate, --ca-cert)`);
  return tls;
}

/** Opens connections to a controller target (tcp: or ssl:). */
export function streamConnector(target: StreamTarget, tls: TlsCredentials | null, log: Logger): (host: string, port: number) => Duplex {
  if (!target.tls) {
    return (host, port) => {
      const s = createConnection({ host, port });
      s.setNoDelay(true);
      return s;
    };
  }
  const creds = needCredentials(tls, target.spec);
  return (host, port) => {
    // Like Open vSwitch: the controller's certificate must verify against the CA; its name is not checked.
    const s = tlsConnect({ host, port, ...creds, rejectUnauthorized: true, checkServerIdentity: () => undefined });
    s.setNoDelay(true);
    // Between TCP connect and the end of the handshake: a socket error (ECONNRESET) or a TLS
    // protocol error (ERR_SSL_...) is a failed handshake; anything else is OpenSSL's verify code.
    const refused = (e: NodeJS.ErrnoException) => {
      const code = e.code ?? 'UNKNOWN';
      const reason = /^(E[A-Z]+|ERR_.*)$/.test(code)
        ? `TLS handshake with the controller failed (${sslReason(e)})`
        : `the controller certificate does not verify against --ca-cert (${e.message})`;
      log.warn({ target: target.spec, code, reason }, TLS_PEER_REFUSED);
    };
    s.once('connect', () => s.once('error', refused));
    s.once('secureConnect', () => s.off('error', refused));
    return s;
  };
}

/** A listening server for ptcp:, pssl: or punix:; `onConnection` gets each ready connection. */
export function createStreamServer(target: StreamTarget, tls: TlsCredentials | null, log: Logger, onConnection: (s: Socket) => void): Server {
  if (!target.tls) return createServer(onConnection);
  // The certificate check is ours rather than OpenSSL's rejectUnauthorized, which hangs up
  // without saying why: a client without a verified certificate is logged and closed here.
  const server = createTlsServer(
    { ...needCredentials(tls, target.spec), requestCert: true, rejectUnauthorized: false, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
    (s: TLSSocket) => {
      if (s.authorized) {
        onConnection(s);
        return;
      }
      // Node hands the OpenSSL verify code (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED...) as a string.
      const err: unknown = s.authorizationError;
      const code = typeof err === 'string' ? err : err instanceof Error ? err.message : 'UNKNOWN';
      const noCert = Object.keys(s.getPeerCertificate()).length === 0;
      const reason = noCert ? 'the client sent no certificate' : `the client certificate does not verify against --ca-cert (${code})`;
      log.warn({ listen: target.spec, peer: `ssl:${ipText(s.remoteAddress, s.remotePort)}`, code: noCert ? 'NO_CERTIFICATE' : code, reason }, TLS_PEER_REFUSED);
      s.destroy();
    },
  );
  server.on('tlsClientError', (e: NodeJS.ErrnoException, s: TLSSocket) => {
    const fields = { listen: target.spec, peer: `ssl:${ipText(s.remoteAddress, s.remotePort)}`, code: e.code, reason: `TLS handshake failed (${sslReason(e)})` };
    // A peer that hangs up before the handshake (a port probe) was not refused by us.
    if (e.code === 'ECONNRESET') log.debug(fields, 'TLS connection closed by the peer before the handshake');
    else log.warn(fields, TLS_PEER_REFUSED);
  });
  return server;
}

/**
 * Binds the server to its target; resolves where it is bound (for punix:
 * family "unix", address the path, port 0). Rejects with the socket error.
 */
export async function bindStreamServer(server: Server, target: StreamTarget): Promise<AddressInfo> {
  const path = target.path;
  if (path !== undefined) {
    await listenUnixSocket(server, path);
    return { address: path, family: 'unix', port: 0 };
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(target.port, target.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}
