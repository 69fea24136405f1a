/*
 * The TLS keys of the configuration (--private-key, --certificate,
 * --ca-cert and the YAML keys private-key, certificate, ca-cert): needed by
 * ssl:/pssl: targets, all three or none, each file read and checked at
 * start (unreadable, not PEM, a key that does not match its certificate),
 * every failure one ConfigError sentence naming the file. And the exposure
 * warning (src/exposure.ts): which endpoints count as reachable from
 * outside without TLS.
 */

import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, resolveConfig } from '../../src/config.js';
import { isLoopbackHost, warnExposedEndpoints } from '../../src/exposure.js';
import { loadTlsCredentials } from '../../src/openflow/transport/tls-credentials.js';
import { configError, tempConfigDir } from '../helpers/config-files.js';
import { missing, tool } from '../helpers/requirements.js';
import { Pki, type KeyAndCert } from '../helpers/tls-certs.js';

const { dir, file } = tempConfigDir('cfgtls');

describe('TLS keys without certificates', () => {
  it('ssl: and pssl: targets need all three keys; the message names the target and what is missing', () => {
    expect(configError(() => resolveConfig({ controller: ['ssl:127.0.0.1:6653'] }))).toBe(
      'ssl:127.0.0.1:6653 needs TLS keys: --private-key, --certificate and --ca-cert (missing: --private-key, --certificate, --ca-cert)',
    );
    expect(configError(() => resolveConfig({ listen: ['pssl:6653'], privateKey: '/x.key', certificate: '/x.crt' }))).toBe(
      'pssl:6653:127.0.0.1 needs TLS keys: --private-key, --certificate and --ca-cert (missing: --ca-cert)',
    );
    expect(configError(() => resolveConfig({ caCert: '/ca.crt' }))).toMatch(/^the TLS keys go together: .*\(missing: --private-key, --certificate\)$/);
  });

  it('no TLS keys and no TLS target: tls is null', () => {
    expect(resolveConfig({ listen: ['ptcp:0', 'punix:/tmp/x.sock'] }).tls).toBeNull();
  });

  it('an unreadable file is one sentence naming it', () => {
    const missingKey = join(dir, 'nope.key');
    expect(configError(() => resolveConfig({ controller: ['ssl:10.0.0.1'], privateKey: missingKey, certificate: dir, caCert: dir }))).toBe(
      `cannot read private key ${missingKey}: no such file`,
    );
    const notPem = file('junk.key', 'not a key\n');
    expect(configError(() => resolveConfig({ controller: ['ssl:10.0.0.1'], privateKey: notPem, certificate: dir, caCert: dir }))).toBe(`cannot read certificate ${dir}: it is a directory`);
  });

  it('the YAML keys are private-key, certificate, ca-cert; a wrong type is refused', () => {
    const p = file('t1.yaml', 'listen: [pssl:0]\nprivate-key: /nonexistent/k.pem\ncertificate: /c.pem\nca-cert: /ca.pem\n');
    expect(configError(() => resolveConfig({}, loadConfigFile(p)))).toBe('cannot read private key /nonexistent/k.pem: no such file');
    expect(configError(() => loadConfigFile(file('t2.yaml', 'ca-cert: 5\n')))).toMatch(/t2\.yaml: ca-cert: must be the path of a PEM file, not 5$/);
    expect(configError(() => loadConfigFile(file('t3.yaml', 'ca_cert: /x\n')))).toMatch(/unknown key "ca_cert" \(did you mean "ca-cert"\?\)/);
  });
});

describe.skipIf(missing(tool('openssl')))('TLS keys with certificates made by openssl', () => {
  let pki: Pki;
  let ca: KeyAndCert;
  let sw: KeyAndCert;
  let other: KeyAndCert;

  beforeAll(() => {
    pki = new Pki();
    ca = pki.ca('ca');
    sw = pki.issue(ca, 'switch');
    other = pki.issue(ca, 'other');
  });
  afterAll(() => pki?.remove());

  it('good files: loaded, and the flags win over the file', () => {
    const p = file('good.yaml', `controllers: ["ssl:127.0.0.1:6653"]\nprivate-key: ${other.key}\ncertificate: ${other.cert}\nca-cert: ${ca.cert}\n`);
    const fromFile = resolveConfig({}, loadConfigFile(p));
    expect(fromFile.tls).toEqual({ privateKey: other.key, certificate: other.cert, caCert: ca.cert });
    expect(fromFile.controllers).toEqual([{ spec: 'ssl:127.0.0.1:6653', host: '127.0.0.1', port: 6653, tls: true }]);
    const c = resolveConfig({ privateKey: sw.key, certificate: sw.cert }, loadConfigFile(p));
    expect(c.tls).toEqual({ privateKey: sw.key, certificate: sw.cert, caCert: ca.cert });
    const creds = loadTlsCredentials(c.tls!);
    expect(creds.cert.toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('a key that does not match the certificate, and files that are not PEM, are refused by name', () => {
    expect(configError(() => resolveConfig({ listen: ['pssl:0'], privateKey: other.key, certificate: sw.cert, caCert: ca.cert }))).toBe(
      `private key ${other.key} does not match certificate ${sw.cert}`,
    );
    const junk = file('junk.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(configError(() => resolveConfig({ listen: ['pssl:0'], privateKey: sw.key, certificate: junk, caCert: ca.cert }))).toMatch(
      new RegExp(`^certificate ${junk} is not a PEM certificate \\(.+\\)$`),
    );
    expect(configError(() => resolveConfig({ listen: ['pssl:0'], privateKey: sw.cert, certificate: sw.cert, caCert: ca.cert }))).toMatch(
      new RegExp(`^private key ${sw.cert} is not a usable PEM private key \\(.+\\)$`),
    );
    expect(configError(() => resolveConfig({ listen: ['pssl:0'], privateKey: sw.key, certificate: sw.cert, caCert: sw.key }))).toMatch(
      new RegExp(`^CA certificate ${sw.key} is not a PEM certificate \\(.+\\)$`),
    );
  });
});

describe('exposure warning', () => {
  function capture() {
    const lines: Array<{ level: number; msg: string; endpoint: string }> = [];
    const dest = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string; endpoint: string });
        cb();
      },
    });
    return { log: pino({ level: 'info' }, dest), lines };
  }

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.5.6.7', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.0.2.1', '2001:db8::1', '::ffff:10.0.0.1', 'switch.example']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('warns once per ptcp: listener or metrics endpoint off loopback; not for pssl:, punix: or loopback', async () => {
    const cfg = resolveConfig({
      listen: ['ptcp:6653:0.0.0.0', 'ptcp:6654', 'ptcp:6655:[::]', 'punix:/tmp/of.sock', 'ptcp:6656:[::1]'],
      metrics: '0.0.0.0:9091',
    });
    const { log, lines } = capture();
    expect(warnExposedEndpoints(cfg, log)).toBe(3);
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.level, l.endpoint])).toEqual([[40, 'ptcp:6653:0.0.0.0'], [40, 'ptcp:6655:[::]'], [40, '0.0.0.0:9091']]);
    expect(lines[0].msg).toMatch(/^OpenFlow listener ptcp:6653:0\.0\.0\.0 is open on a non-loopback address without TLS: .*use pssl:/);
    expect(lines[2].msg).toMatch(/^metrics endpoint 0\.0\.0\.0:9091 is open on a non-loopback address without TLS: .*bind it to 127\.0\.0\.1/);
    const quiet = capture();
    expect(warnExposedEndpoints({ listen: cfg.listen.filter((t) => t.host !== '0.0.0.0' && t.host !== '::'), metrics: { host: '127.0.0.1', port: 9091 } }, quiet.log)).toBe(0);
    expect(warnExposedEndpoints({ listen: [{ spec: 'pssl:6653:0.0.0.0', host: '0.0.0.0', port: 6653, tls: true }], metrics: null }, quiet.log)).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(quiet.lines).toEqual([]);
  });
});
