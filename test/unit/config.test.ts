import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, portSpecText, resolveConfig, switchPorts } from '../../src/config.js';
import { ConfigError } from '../../src/config-errors.js';
import { CONFIG_FILE_KEYS } from '../../src/config-schema.js';
import { configError, tempConfigDir } from '../helpers/config-files.js';

const { dir, file } = tempConfigDir('cfg');

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
    expect(configError(() => resolveConfig({ port: ['tap:a=1', 'tap:b=1'] }))).toBe('OpenFlow port number 1 is given to two ports: tap:a and tap:b');
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

  it('peer limits: a 5 s handshake deadline, 64 connections per listener and no packet-in rate limit by default', () => {
    expect(resolveConfig({})).toMatchObject({ handshakeTimeoutMs: 5000, listenMaxConnections: 64, controllerRateLimit: 0, controllerBurstLimit: 0 });
  });

  it('peer limits from YAML and flags (flags win); the burst defaults to a quarter of the rate, at least 1 (as OVS)', () => {
    const p = file('limits.yaml', 'handshake-timeout: 2.5\nlisten-max-connections: 8\ncontroller-rate-limit: 1000\n');
    expect(resolveConfig({}, loadConfigFile(p))).toMatchObject({ handshakeTimeoutMs: 2500, listenMaxConnections: 8, controllerRateLimit: 1000, controllerBurstLimit: 250 });
    const f = resolveConfig({ handshakeTimeout: '3', listenMaxConnections: '2', controllerRateLimit: '100', controllerBurstLimit: '7' }, loadConfigFile(p));
    expect(f).toMatchObject({ handshakeTimeoutMs: 3000, listenMaxConnections: 2, controllerRateLimit: 100, controllerBurstLimit: 7 });
    expect(resolveConfig({ controllerRateLimit: '3' })).toMatchObject({ controllerRateLimit: 3, controllerBurstLimit: 1 });
  });

  it('refuses bad peer limits with one sentence naming the key', () => {
    expect(configError(() => loadConfigFile(file('lim1.yaml', 'handshake-timeout: 0.5\n')))).toMatch(/handshake-timeout: must be at least 1 second/);
    expect(configError(() => loadConfigFile(file('lim2.yaml', 'listen-max-connections: 0\n')))).toMatch(/listen-max-connections: must be at least 1$/);
    expect(configError(() => loadConfigFile(file('lim3.yaml', 'controller-rate-limit: -1\n')))).toMatch(/controller-rate-limit: must not be negative/);
    expect(configError(() => loadConfigFile(file('lim4.yaml', 'controller-burst-limit: 1.5\n')))).toMatch(/controller-burst-limit: must be a whole number of packets/);
    expect(configError(() => resolveConfig({ listenMaxConnections: 'many' }))).toMatch(/--listen-max-connections: "many" is not a whole number/);
    expect(configError(() => resolveConfig({ handshakeTimeout: 'soon' }))).toMatch(/--handshake-timeout: "soon" is not a number/);
    expect(configError(() => resolveConfig({ controllerBurstLimit: '10' }))).toMatch(/controller-burst-limit needs controller-rate-limit/);
  });
});

/** zod's own wording, which must never reach the user. */
const ZOD_RAW = /Invalid input|Invalid option|expected \w+, received|received (string|number|boolean|array|object|null|undefined)/;

describe('bad input messages', () => {
  it('an unknown key: one colon after the file name, and "did you mean" when it is close to a known key', () => {
    const p = file('bad1.yaml', 'controller: [tcp:127.0.0.1]\n');
    expect(configError(() => loadConfigFile(p))).toBe(`config file ${p}: unknown key "controller" (did you mean "controllers"?)`);
    const typos = file('typos.yaml', 'brust: 3\nmac_aging: 30\n');
    expect(configError(() => loadConfigFile(typos))).toBe(`config file ${typos}: unknown keys "brust" (did you mean "burst"?), "mac_aging" (did you mean "mac-aging"?)`);
    // Nothing close: no guess.
    const far = file('far.yaml', 'frobnicate: 1\n');
    expect(configError(() => loadConfigFile(far))).toBe(`config file ${far}: unknown key "frobnicate"`);
  });

  it('an unknown key in a port mapping is reported before the key it hides, with a suggestion', () => {
    const p = file('nmae.yaml', 'ports:\n  - { type: tap, nmae: a }\n');
    expect(configError(() => loadConfigFile(p))).toBe(`config file ${p}: ports[0]: unknown key "nmae" (did you mean "name"?)`);
    const t = file('tapcase.yaml', 'ports:\n  - { type: TAP, name: a }\n');
    expect(configError(() => loadConfigFile(t))).toMatch(/ports\[0\]\.type: type must be "tap" or "if" \(did you mean "tap"\?\)$/);
  });

  it('a bad choice names the choices and the close one', () => {
    expect(configError(() => loadConfigFile(file('fm.yaml', 'fail-mode: Secure\n')))).toMatch(/fail-mode: must be "standalone" or "secure" \(did you mean "secure"\?\)$/);
    expect(configError(() => loadConfigFile(file('ll.yaml', 'log-level: Debug\n')))).toMatch(
      /log-level: must be "trace", "debug", "info", "warn", "error", "fatal" or "silent" \(did you mean "debug"\?\)$/,
    );
    expect(configError(() => loadConfigFile(file('ll2.yaml', 'log-level: loud\n')))).not.toMatch(/did you mean/);
  });

  it('a port number clash names both ports, the number, and the file they came from', () => {
    const p = file('clash.yaml', 'ports:\n  - tap:a=3\n  - { type: if, name: eth1, ofport: 3 }\n');
    expect(configError(() => resolveConfig({}, loadConfigFile(p)))).toBe(`config file ${p}: OpenFlow port number 3 is given to two ports: tap:a and if:eth1`);
    // The command line's ports replace the file's: the clash is the command line's, with no file named.
    expect(configError(() => resolveConfig({ port: ['if:x=2', 'tap:y=2'] }, loadConfigFile(p)))).toBe('OpenFlow port number 2 is given to two ports: if:x and tap:y');
    const twice = file('twice.yaml', 'ports: [tap:a, if:a]\n');
    expect(configError(() => resolveConfig({}, loadConfigFile(twice)))).toBe(`config file ${twice}: port a is listed twice`);
  });

  it('ports given as one value says a list is expected, in the project\'s words', () => {
    const p = file('scalar.yaml', 'ports: tap:a\n');
    expect(configError(() => loadConfigFile(p))).toBe(
      `config file ${p}: ports: must be a list of port specs (tap:NAME[=OFPORT] or if:NAME[=OFPORT]) or mappings ({ type: tap, name: NAME, ofport: N }), not the text "tap:a" (write ports: [tap:a])`,
    );
  });

  it('a value of the wrong type for any key gets a sentence, never zod\'s wording', () => {
    const wrong = ['"some text"', '5', '2.5', 'true', '[1, 2]', '{ a: 1 }', 'null'];
    const accepted: string[] = [];
    let n = 0;
    for (const key of CONFIG_FILE_KEYS) {
      for (const value of wrong) {
        const p = file(`wrong${n++}.yaml`, `${key}: ${value}\n`);
        let message: string;
        try {
          loadConfigFile(p);
          accepted.push(`${key}: ${value}`);
          continue;
        } catch (e) {
          expect(e, `${key}: ${value}`).toBeInstanceOf(ConfigError);
          message = (e as Error).message;
        }
        expect(message, `${key}: ${value}`).toMatch(new RegExp(`^config file ${p}: ${key}(\\[\\d+\\])?(\\.[a-z-]+)?: `));
        expect(message, `${key}: ${value}`).not.toMatch(ZOD_RAW);
      }
    }
    // Exactly the values that are of the right type for their key (so every other one above was refused).
    expect(accepted).toEqual([
      'burst: 5',
      'datapath-id: 5',
      'offload: true',
      'mac-aging: 5',
      'busy-poll: true',
      'rx-usecs: 5',
      'adaptive-rx: true',
      'megaflow: true',
      'inactivity-probe: 5',
      'inactivity-probe: 2.5',
      'max-backoff: 5',
      'handshake-timeout: 5',
      'handshake-timeout: 2.5',
      'listen-max-connections: 5',
      'controller-rate-limit: 5',
      'controller-burst-limit: 5',
      'admin-socket: "some text"',
      'private-key: "some text"',
      'certificate: "some text"',
      'ca-cert: "some text"',
    ]);
    // Inside a port mapping too.
    for (const [text, want] of [
      ['ports: [{ type: tap, name: 5 }]', /ports\[0\]\.name: must be a string, not 5$/],
      ['ports: [{ type: tap, name: a, ofport: x }]', /ports\[0\]\.ofport: must be a number, not the text "x"$/],
      ['ports: [{ type: tap, name: a, ofport: 1.5 }]', /ports\[0\]\.ofport: must be a whole number, not 1\.5$/],
      ['ports: [{ type: tap }]', /ports\[0\]\.name: is missing$/],
      ['ports: [5]', /ports\[0\]: must be a port spec \(tap:NAME\[=OFPORT\] or if:NAME\[=OFPORT\]\) or a mapping with type and name, not 5$/],
      ['controllers: [5]', /controllers\[0\]: must be a string$/],
    ] as const) {
      const message = configError(() => loadConfigFile(file(`m${n++}.yaml`, `${text}\n`)));
      expect(message, text).toMatch(want);
      expect(message, text).not.toMatch(ZOD_RAW);
    }
  });
});

describe('port VLAN options', () => {
  it('reads vlan= and trunks= after a port spec, and vlan / trunks keys in YAML', () => {
    const c = resolveConfig({ port: ['if:vif1.0=3,vlan=10', 'if:trunk0,trunks=20,10', 'tap:t1'] });
    expect(c.ports).toEqual([
      { kind: 'if', name: 'vif1.0', ofPort: 3, vlan: 10 },
      { kind: 'if', name: 'trunk0', ofPort: 1, trunks: [10, 20] },
      { kind: 'tap', name: 't1', ofPort: 2 },
    ]);
    const p = file('vlan.yaml', 'ports:\n  - { type: if, name: vif1.0, ofport: 3, vlan: 10 }\n  - { type: tap, name: t0, trunks: [30, 20, 30] }\n  - "tap:t2,vlan=4094"\n');
    expect(resolveConfig({}, loadConfigFile(p)).ports).toEqual([
      { kind: 'if', name: 'vif1.0', ofPort: 3, vlan: 10 },
      { kind: 'tap', name: 't0', ofPort: 1, trunks: [20, 30] },
      { kind: 'tap', name: 't2', ofPort: 2, vlan: 4094 },
    ]);
  });

  it('refuses bad VLAN options on the command line with one sentence each', () => {
    const opt = (spec: string) => configError(() => resolveConfig({ port: [spec] }));
    expect(opt('tap:a,vlan=0')).toBe('option ports[0]: VLAN id "0" must be an integer from 1 to 4094');
    expect(opt('tap:a,vlan=4095')).toBe('option ports[0]: VLAN id "4095" must be an integer from 1 to 4094');
    expect(opt('tap:a,vlan=ten')).toBe('option ports[0]: VLAN id "ten" must be an integer from 1 to 4094');
    expect(opt('tap:a,trunks=10,0')).toBe('option ports[0]: VLAN id "0" must be an integer from 1 to 4094');
    expect(opt('tap:a,trunks=')).toBe('option ports[0]: trunks needs a VLAN id (an integer from 1 to 4094)');
    expect(opt('tap:a,vlan=10,trunks=20')).toBe('option ports[0]: a port takes vlan (access port) or trunks (trunk port), not both');
    expect(opt('tap:a,vlan=10,vlan=11')).toBe('option ports[0]: vlan is given twice');
    expect(opt('tap:a,tag=10')).toBe('option ports[0]: "tag" is not a port option: use vlan=ID (access port) or trunks=ID,ID... (trunk port), or io=auto|uring|rw');
    expect(opt('tap:a,10')).toBe('option ports[0]: "10" is not a port option: use vlan=ID (access port) or trunks=ID,ID... (trunk port), or io=auto|uring|rw');
    expect(opt('tap:a,')).toBe('option ports[0]: an empty option after ",": use vlan=ID (access port) or trunks=ID,ID... (trunk port), or io=auto|uring|rw');
    expect(opt('tap:a,vlan=10,20')).toBe('option ports[0]: "20" is not a port option: use vlan=ID (access port) or trunks=ID,ID... (trunk port), or io=auto|uring|rw');
  });

  it('refuses bad VLAN keys in YAML naming the key', () => {
    const bad = (name: string, port: string) => configError(() => loadConfigFile(file(name, `ports:\n  - ${port}\n`)));
    expect(bad('v1.yaml', '{ type: tap, name: a, vlan: 0 }')).toMatch(/v1\.yaml: ports\[0\]\.vlan: must be a VLAN id, an integer from 1 to 4094$/);
    expect(bad('v2.yaml', '{ type: tap, name: a, vlan: "10" }')).toMatch(/ports\[0\]\.vlan: must be a VLAN id/);
    expect(bad('v3.yaml', '{ type: tap, name: a, trunks: [] }')).toMatch(/ports\[0\]\.trunks: must name at least one VLAN id$/);
    expect(bad('v4.yaml', '{ type: tap, name: a, trunks: 10 }')).toMatch(/ports\[0\]\.trunks: must be a list of VLAN ids, e\.g\. \[10, 20\]$/);
    expect(bad('v5.yaml', '{ type: tap, name: a, trunks: [10, 5000] }')).toMatch(/ports\[0\]\.trunks\[1\]: must be a VLAN id/);
    expect(bad('v6.yaml', '{ type: tap, name: a, vlan: 10, trunks: [20] }')).toMatch(/ports\[0\]: a port takes vlan \(access port\) or trunks \(trunk port\), not both$/);
    expect(bad('v7.yaml', '"if:x,trunks=10,4095"')).toMatch(/ports\[0\]: VLAN id "4095" must be an integer from 1 to 4094$/);
  });
});

describe('local port', () => {
  it('is a TAP numbered LOCAL, from --local-port or local-port in YAML, with VLAN options too', () => {
    expect(resolveConfig({}).localPort).toBeNull();
    const c = resolveConfig({ port: ['tap:a'], localPort: 'tap:br0' });
    expect(c.localPort).toEqual({ kind: 'tap', name: 'br0', ofPort: 0xfffffffe });
    expect(switchPorts(c).map((p) => p.name)).toEqual(['a', 'br0']);
    expect(switchPorts(resolveConfig({ port: ['tap:a'] })).map((p) => p.name)).toEqual(['a']);
    const logged = resolveConfig({ port: ['tap:a,vlan=10', 'if:b=5,trunks=20,10', 'tap:c'], localPort: 'tap:br0' });
    expect(switchPorts(logged).map(portSpecText)).toEqual(['tap:a=1,vlan=10', 'if:b=5,trunks=10,20', 'tap:c=2', 'tap:br0=LOCAL']);
    const y = resolveConfig({}, loadConfigFile(file('local.yaml', 'ports: [ tap:a ]\nlocal-port: { type: tap, name: br1, vlan: 10 }\n')));
    expect(y.localPort).toEqual({ kind: 'tap', name: 'br1', ofPort: 0xfffffffe, vlan: 10 });
    expect(resolveConfig({ localPort: 'tap:br2' }, loadConfigFile(file('local2.yaml', 'local-port: tap:br1\n'))).localPort!.name).toBe('br2');
  });

  it('refuses another kind, a port number, and a name a port already has', () => {
    expect(configError(() => resolveConfig({ localPort: 'if:eth0' }))).toBe('option local-port: the local port must be a TAP (tap:NAME), not if:eth0');
    expect(configError(() => resolveConfig({ localPort: 'tap:br0=3' }))).toBe('option local-port: the local port is numbered LOCAL; it takes no OpenFlow port number (drop "=3")');
    expect(configError(() => resolveConfig({ port: ['tap:br0'], localPort: 'tap:br0' }))).toBe('port br0 is listed twice');
    expect(configError(() => resolveConfig({ localPort: 'tap:a,vlan=0' }))).toBe('option local-port: VLAN id "0" must be an integer from 1 to 4094');
    expect(configError(() => loadConfigFile(file('local3.yaml', 'local-port: [ tap:x ]\n')))).toMatch(
      /local3\.yaml: local-port: must be a port spec \(tap:NAME\[=OFPORT\] or if:NAME\[=OFPORT\]\) or a mapping with type and name, not a list/,
    );
    expect(configError(() => loadConfigFile(file('local4.yaml', 'ports: [ 5 ]\n')))).toMatch(/local4\.yaml: ports\[0\]: must be a port spec/);
  });
});
