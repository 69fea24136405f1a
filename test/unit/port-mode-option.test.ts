/*
 * The I/O mode option of if: ports (`if:NAME,mode=ring|mmsg|xdp`, or `mode:` in
 * the mapping form): parsed into PortConfig.options, written back by
 * portSpecText, refused with one sentence when wrong, and not offered by
 * kinds that do not declare it.
 */

import { describe, expect, it } from 'vitest';
import { loadConfigFile, portSpecText, resolveConfig } from '../../src/config.js';
import { parsePortSpec } from '../../src/config-ports.js';
import { IF_DEFAULT_MODE, ifKind } from '../../src/ports/kinds/if.js';
import { PACKET_IO_MODES } from '../../src/ports/packet-port.js';
import { configError, tempConfigDir } from '../helpers/config-files.js';

const { file } = tempConfigDir('mode-opt');

describe('if: port mode option', () => {
  it('is declared once, by the if kind, with the packet port modes', () => {
    expect(ifKind.spec?.options?.mode.values).toEqual(PACKET_IO_MODES);
    expect(PACKET_IO_MODES).toContain(IF_DEFAULT_MODE);
  });

  it('reads mode= after a spec, alone or with VLAN options in any order, and writes it back', () => {
    const c = resolveConfig({ port: ['if:v1=3,mode=ring', 'if:v2,vlan=10,mode=mmsg', 'if:v3,mode=ring,trunks=20,10', 'if:v4'] });
    expect(c.ports).toEqual([
      { kind: 'if', name: 'v1', ofPort: 3, options: { mode: 'ring' } },
      { kind: 'if', name: 'v2', ofPort: 1, vlan: 10, options: { mode: 'mmsg' } },
      { kind: 'if', name: 'v3', ofPort: 2, trunks: [10, 20], options: { mode: 'ring' } },
      { kind: 'if', name: 'v4', ofPort: 4 },
    ]);
    expect(c.ports.map(portSpecText)).toEqual(['if:v1=3,mode=ring', 'if:v2=1,vlan=10,mode=mmsg', 'if:v3=2,trunks=10,20,mode=ring', 'if:v4=4']);
    expect(parsePortSpec('if:x,mode=ring')).toEqual({ kind: 'if', name: 'x', options: { mode: 'ring' } });
  });

  it('reads mode in the mapping form and in spec strings of a config file', () => {
    const p = file('m.yaml', 'ports:\n  - { type: if, name: v1, ofport: 2, mode: ring }\n  - "if:v2,mode=mmsg"\n  - { type: if, name: v3 }\n');
    expect(resolveConfig({}, loadConfigFile(p)).ports).toEqual([
      { kind: 'if', name: 'v1', ofPort: 2, options: { mode: 'ring' } },
      { kind: 'if', name: 'v2', ofPort: 1, options: { mode: 'mmsg' } },
      { kind: 'if', name: 'v3', ofPort: 3 },
    ]);
  });

  it('refuses a bad mode, a repeated one, and mode on a kind without it, with one sentence each', () => {
    const opt = (spec: string) => configError(() => resolveConfig({ port: [spec] }));
    expect(opt('if:a,mode=dpdk')).toBe('option ports[0]: if port option mode must be ring, mmsg or xdp, not "dpdk"');
    expect(opt('if:a,mode=')).toBe('option ports[0]: if port option mode must be ring, mmsg or xdp, not ""');
    expect(opt('if:a,mode=ring,mode=mmsg')).toBe('option ports[0]: mode is given twice');
    expect(opt('if:a,speed=1')).toBe('option ports[0]: "speed" is not a port option: use vlan=ID (access port) or trunks=ID,ID... (trunk port), or mode=ring|mmsg|xdp');
    expect(opt('tap:a,mode=ring')).toBe('option ports[0]: "mode" is not a port option: use vlan=ID (access port) or trunks=ID,ID... (trunk port), or io=auto|uring|rw');
    expect(configError(() => loadConfigFile(file('b1.yaml', 'ports:\n  - { type: if, name: a, mode: fast }\n')))).toMatch(/b1\.yaml: ports\[0\]\.mode: must be "ring" or "mmsg" or "xdp"$/);
    expect(configError(() => loadConfigFile(file('b2.yaml', 'ports:\n  - { type: tap, name: a, mode: ring }\n')))).toMatch(/b2\.yaml: ports\[0\]/);
  });
});
