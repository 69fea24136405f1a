import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, resolveConfig } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'linc-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('defaults to a standalone switch on two TAPs it creates', () => {
    const c = resolveConfig({});
    expect(c.ports).toEqual([
      { kind: 'tap', name: 'linc0', ofPort: 1 },
      { kind: 'tap', name: 'linc1', ofPort: 2 },
    ]);
    expect(c).toMatchObject({ burst: 32, datapathId: null, logLevel: 'info', offload: true, macAgingSec: 300, macTableSize: 8192 });
  });

  it('parses port specs and numbers ports without one from the lowest free number', () => {
    const c = resolveConfig({ port: ['tap:a', 'if:veth1=1', 'tap:b=7', 'if:c'] });
    expect(c.ports).toEqual([
      { kind: 'tap', name: 'a', ofPort: 2 },
      { kind: 'if', name: 'veth1', ofPort: 1 },
      { kind: 'tap', name: 'b', ofPort: 7 },
      { kind: 'if', name: 'c', ofPort: 3 },
    ]);
  });

  it('reads YAML with the long option names; the command line wins', () => {
    const p = file(
      'ok.yaml',
      'ports:\n  - tap:t0=5\n  - { type: if, name: eth9, ofport: 6 }\nburst: 64\ndatapath-id: "00:00:00:00:00:00:ab:cd"\nlog-level: debug\nmac-aging: 60\n',
    );
    const c = resolveConfig({ burst: '16' }, loadConfigFile(p));
    expect(c.ports).toEqual([
      { kind: 'tap', name: 't0', ofPort: 5 },
      { kind: 'if', name: 'eth9', ofPort: 6 },
    ]);
    expect(c.burst).toBe(16);
    expect(c.datapathId).toBe(0xabcdn);
    expect(c.logLevel).toBe('debug');
    expect(c.macAgingSec).toBe(60);
  });

  it('names the key of every bad value in one sentence', () => {
    expect(configError(() => loadConfigFile(file('b1.yaml', 'burst: 0\n')))).toMatch(/b1\.yaml: burst: .*>=1/);
    expect(configError(() => loadConfigFile(file('b2.yaml', 'ports: [ "tapx:foo" ]\n')))).toMatch(/ports\[0\]: "tapx:foo" is not a port spec/);
    expect(configError(() => loadConfigFile(file('b3.yaml', 'brust: 3\n')))).toMatch(/unknown key "brust"/);
    expect(configError(() => loadConfigFile(file('b4.yaml', 'datapath-id: xyz\n')))).toMatch(/datapath-id: "xyz" is not a datapath id/);
    expect(configError(() => loadConfigFile(file('b5.yaml', 'ports:\n  - { type: tap, name: "a-very-long-interface-name" }\n')))).toMatch(/ports\[0\]\.name: must be an interface name/);
    expect(configError(() => loadConfigFile(file('b6.yaml', 'ports: [ "tap:a=0" ]\n')))).toMatch(/port number "0" must be an integer from 1/);
    expect(configError(() => loadConfigFile(file('b7.yaml', 'log-level: loud\n')))).toMatch(/log-level/);
    expect(configError(() => loadConfigFile(file('b8.yaml', '- just\n- a list\n')))).toMatch(/top level must be a mapping/);
    expect(configError(() => loadConfigFile(file('b9.yaml', 'ports: [\n')))).toMatch(/not valid YAML/);
    expect(configError(() => loadConfigFile(join(dir, 'missing.yaml')))).toMatch(/cannot read config file .*missing\.yaml: no such file/);
  });

  it('refuses bad command-line values naming the option', () => {
    expect(configError(() => resolveConfig({ burst: 'many' }))).toBe('option --burst: "many" is not a whole number');
    expect(configError(() => resolveConfig({ burst: '999' }))).toMatch(/^option burst: /);
    expect(configError(() => resolveConfig({ port: ['tap:a=1', 'tap:b=1'] }))).toBe('OpenFlow port number 1 is given to two ports');
    expect(configError(() => resolveConfig({ port: ['tap:a', 'if:a'] }))).toBe('port a is listed twice');
  });
});

describe('OpenFlow config keys', () => {
  it('defaults to no controller, no listener, standalone, a 5 s probe and 8 s max backoff', () => {
    expect(resolveConfig({})).toMatchObject({ controllers: [], listen: [], failMode: 'standalone', inactivityProbeMs: 5000, maxBackoffMs: 8000 });
  });

  it('reads controllers, listen, fail-mode, inactivity-probe and max-backoff from YAML; flags win', () => {
    const p = file('of1.yaml', 'controllers: ["tcp:10.0.0.1:6653", "tcp:[::1]"]\nlisten: [ptcp:6634]\nfail-mode: secure\ninactivity-probe: 2.5\nmax-backoff: 4\n');
    const c = resolveConfig({}, loadConfigFile(p));
    expect(c.controllers.map((t) => t.spec)).toEqual(['tcp:10.0.0.1:6653', 'tcp:[::1]:6653']);
    expect(c.listen).toEqual([{ spec: 'ptcp:6634:127.0.0.1', host: '127.0.0.1', port: 6634 }]);
    expect(c).toMatchObject({ failMode: 'secure', inactivityProbeMs: 2500, maxBackoffMs: 4000 });
    const f = resolveConfig({ controller: ['tcp:10.0.0.9:1'], failMode: 'standalone', inactivityProbe: '0', maxBackoff: '16' }, loadConfigFile(p));
    expect(f.controllers.map((t) => t.spec)).toEqual(['tcp:10.0.0.9:1']);
    expect(f).toMatchObject({ failMode: 'standalone', inactivityProbeMs: 0, maxBackoffMs: 16000, listen: [{ port: 6634 }] });
  });

  it('names the key of each bad value', () => {
    expect(configError(() => loadConfigFile(file('of2.yaml', 'controllers: ["tcp:10.0.0.1:6653", "10.0.0.2"]\n')))).toMatch(/controllers\[1\]: "10.0.0.2" is not a controller target/);
    expect(configError(() => loadConfigFile(file('of3.yaml', 'controllers: tcp:10.0.0.1\n')))).toMatch(/controllers: /);
    expect(configError(() => loadConfigFile(file('of4.yaml', 'listen: ["ptcp:6653:nowhere"]\n')))).toMatch(/listen\[0\]: .*must be an IPv4 or IPv6 address/);
    expect(configError(() => loadConfigFile(file('of5.yaml', 'listen: [ptcp:6653, "ptcp:6653:127.0.0.1"]\n')))).toMatch(/listen\[1\]: ptcp:6653:127.0.0.1 is listed twice/);
    expect(configError(() => loadConfigFile(file('of6.yaml', 'fail-mode: open\n')))).toMatch(/fail-mode: must be "standalone" or "secure"/);
    expect(configError(() => loadConfigFile(file('of7.yaml', 'inactivity-probe: 0.5\n')))).toMatch(/inactivity-probe: must be 0 \(off\) or at least 1 second/);
    expect(configError(() => loadConfigFile(file('of8.yaml', 'max-backoff: 0\n')))).toMatch(/max-backoff: must be at least 1 second/);
    expect(configError(() => resolveConfig({ maxBackoff: 'soon' }))).toMatch(/--max-backoff: "soon" is not a number/);
    expect(configError(() => resolveConfig({ listen: ['ptcp:x'] }))).toMatch(/listen\[0\]: .*listen port "x"/);
  });
});
