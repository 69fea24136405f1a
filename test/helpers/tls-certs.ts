/*
 * Certificates for the TLS tests, made with the openssl command line into a
 * temporary directory: a CA (self-signed) and keys with certificates it
 * signs, the way the README tells an operator to make them. EC P-256 keys
 * (fast to generate). Pki.remove() deletes the directory.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyAndCert {
  key: string;
  cert: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

export class Pki {
  readonly dir = mkdtempSync(join(tmpdir(), 'linc-tls-'));
  private serial = 1;

  /** A self-signed CA named `name`. */
  ca(name: string): KeyAndCert {
    const key = join(this.dir, `${name}.key`);
    const cert = join(this.dir, `${name}.crt`);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`]);
    return { key, cert };
  }

  /** A key and a certificate for `name`, signed by `ca`. */
  issue(ca: KeyAndCert, name: string): KeyAndCert {
    const key = join(this.dir, `${name}.key`);
    const csr = join(this.dir, `${name}.csr`);
    const cert = join(this.dir, `${name}.crt`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(this.serial++), '-days', '2', '-out', cert]);
    return { key, cert };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
