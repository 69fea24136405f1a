/*
 * TLS credentials of the OpenFlow connections (`ssl:` and `pssl:` targets):
 * the switch's private key and certificate and the CA certificate its peers'
 * certificates must be signed by (Open vSwitch's --private-key,
 * --certificate, --ca-cert). Loaded once at start from PEM files.
 *
 * Invariants
 * - loadTlsCredentials either returns material that Node's tls module
 *   accepts (a key that matches its certificate, a CA file holding at least
 *   one certificate) or throws a TlsCredentialsError whose message is one
 *   sentence naming the file and what is wrong with it.
 * - Nothing here opens a socket; the key bytes never leave this object and
 *   the stream factory (streams.ts).
 */

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

/** The three PEM files, as configured. */
export interface TlsFiles {
  privateKey: string;
  certificate: string;
  caCert: string;
}

/** What tls.connect / tls.createServer take. */
export interface TlsCredentials {
  key: Buffer;
  cert: Buffer;
  ca: Buffer;
}

/** The files cannot be used; the message names the file and why. */
export class TlsCredentialsError extends Error {
  readonly code = 'LINC_ERR_TLS_CREDENTIALS';
}

/** OpenSSL's "error:0480006C:PEM routines::no start line" -> "no start line". */
function opensslReason(e: unknown): string {
  const m = (e as Error).message ?? String(e);
  const last = m.split(':').pop()?.trim();
  return last !== undefined && last !== '' ? last : m;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'it is a directory' : err.message;
    throw new TlsCredentialsError(`cannot read ${what} ${path}: ${why}`);
  }
}

/** Reads and checks the three files; throws TlsCredentialsError. */
export function loadTlsCredentials(files: TlsFiles): TlsCredentials {
  const key = readPem(files.privateKey, 'private key');
  const cert = readPem(files.certificate, 'certificate');
  const ca = readPem(files.caCert, 'CA certificate');
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key);
  } catch (e) {
    throw new TlsCredentialsError(`private key ${files.privateKey} is not a usable PEM private key (${opensslReason(e)})`);
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (e) {
    throw new TlsCredentialsError(`certificate ${files.certificate} is not a PEM certificate (${opensslReason(e)})`);
  }
  try {
    new X509Certificate(ca);
  } catch (e) {
    throw new TlsCredentialsError(`CA certificate ${files.caCert} is not a PEM certificate (${opensslReason(e)})`);
  }
  if (!certificate.checkPrivateKey(keyObject)) {
    throw new TlsCredentialsError(`private key ${files.privateKey} does not match certificate ${files.certificate}`);
  }
  try {
    createSecureContext({ key, cert, ca });
  } catch (e) {
    throw new TlsCredentialsError(`TLS credentials ${files.privateKey}, ${files.certificate}, ${files.caCert} cannot be used: ${opensslReason(e)}`);
  }
  return { key, cert, ca };
}
