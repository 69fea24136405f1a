/*
 * The ipv6_exthdr pseudo-field and in_phy_port through the whole pipeline
 * (flow-mod -> rows -> parser -> lookup -> output), against OpenFlow 1.3.5:
 * - ipv6_exthdr (A.2.3.7): OFPIEH_UNSEQ set for extension headers out of RFC
 *   2460 4.1's preferred order, HOP only for a hop-by-hop header that comes
 *   first; a flow matching UNSEQ/UNSEQ takes exactly the out-of-order frames.
 * - in_phy_port (A.2.3.7, prerequisite in_port): with no logical ports it
 *   equals in_port, so a match giving both the same value matches every
 *   frame of that port; a different value is OFPBMC_BAD_VALUE, in_phy_port
 *   without in_port OFPBMC_BAD_PREREQ.
 */

import { describe, expect, it } from 'vitest';
import { EXTHDR_DEST, EXTHDR_HOP, EXTHDR_UNSEQ } from '../../src/flow/key.js';
import { errorName } from '../../src/openflow/codec/v13/enums.js';
import type { Oxm } from '../../src/openflow/codec/v13/oxm.js';
import { apply, fm, inPort, loadFrame, out, setup } from '../helpers/of-harness.js';

const IPV6: Oxm = { field: 'eth_type', value: 0x86dd };

/** The captured udp6-hbh-dst frame (IPv6, hop-by-hop, dest options, UDP) with its chain replaced by `chain` (8-byte headers). */
function ipv6Chain(chain: number[]): Uint8Array {
  const base = loadFrame('udp6-hbh-dst');
  const udp = base.subarray(70);
  const types = [...chain, 17];
  const exts: number[] = [];
  for (let k = 0; k < chain.length; k++) {
    if (chain[k] === 44) exts.push(types[k + 1], 0, 0, 0, 0, 0, 0, 1); // atomic fragment
    else if (chain[k] === 51) exts.push(types[k + 1], 0, 0, 0, 0, 0, 0, 9); // AH, payload length 0 = 8 bytes
    else exts.push(types[k + 1], 0, 1, 4, 0, 0, 0, 0); // length 0 (8 bytes), PadN
  }
  const f = new Uint8Array(54 + exts.length + udp.length);
  f.set(base.subarray(0, 54));
  f.set(exts, 54);
  f.set(udp, 54 + exts.length);
  f[20] = types[0];
  const plen = exts.length + udp.length;
  f[18] = plen >> 8;
  f[19] = plen & 0xff;
  return f;
}

describe('ipv6_exthdr in the pipeline', () => {
  it('UNSEQ/UNSEQ takes the frames whose extension headers are out of order, HOP|DEST the in-order captured one', () => {
    const h = setup(3);
    h.flow({ priority: 20, match: [inPort(1), IPV6, { field: 'ipv6_exthdr', value: EXTHDR_UNSEQ, mask: EXTHDR_UNSEQ }], instructions: [apply(out(2))] });
    h.flow({ priority: 10, match: [inPort(1), IPV6, { field: 'ipv6_exthdr', value: EXTHDR_HOP | EXTHDR_DEST }], instructions: [apply(out(3))] });
    const inOrder = [loadFrame('udp6-hbh-dst'), ipv6Chain([0, 60, 43, 44, 51])];
    const outOfOrder = [ipv6Chain([60, 0]), ipv6Chain([43, 0]), ipv6Chain([44, 43]), ipv6Chain([51, 60, 43])];
    h.send(0, ...inOrder, ...outOfOrder);
    const got = h.taken();
    expect(got[1]).toEqual(outOfOrder);
    // The captured frame is exactly HOP|DEST; the longer in-order chain has more bits and no flow of its own.
    expect(got[2]).toEqual([inOrder[0]]);
  });

  it('a hop-by-hop header that is not first sets UNSEQ and not HOP', () => {
    const h = setup(3);
    h.flow({ priority: 20, match: [inPort(1), IPV6, { field: 'ipv6_exthdr', value: EXTHDR_HOP, mask: EXTHDR_HOP }], instructions: [apply(out(2))] });
    h.flow({ priority: 10, match: [inPort(1), IPV6, { field: 'ipv6_exthdr', value: EXTHDR_UNSEQ | EXTHDR_DEST }], instructions: [apply(out(3))] });
    const late = ipv6Chain([60, 0]);
    h.send(0, ipv6Chain([0, 60]), late);
    const got = h.taken();
    expect(got[1]).toEqual([ipv6Chain([0, 60])]);
    expect(got[2]).toEqual([late]);
  });
});

describe('in_phy_port', () => {
  it('equal to in_port: matches every frame of that port, and only of that port', () => {
    const h = setup(3);
    h.flow({ priority: 10, match: [inPort(1), { field: 'in_phy_port', value: 1 }], instructions: [apply(out(3))] });
    const f = loadFrame('udp6-hbh-dst');
    h.send(0, f, f);
    h.send(1, f);
    const got = h.taken();
    expect(got[2]).toEqual([f, f]);
  });

  it('a value other than in_port is OFPBMC_BAD_VALUE; without in_port OFPBMC_BAD_PREREQ; nothing installed', () => {
    const h = setup(3);
    const code = (match: Oxm[]) => {
      const e = h.sw.flowMod(fm({ match, instructions: [apply(out(3))] }));
      return e && errorName(e.type, e.code);
    };
    expect(code([inPort(1), { field: 'in_phy_port', value: 2 }])).toBe('OFPET_BAD_MATCH/OFPBMC_BAD_VALUE');
    expect(code([{ field: 'in_phy_port', value: 1 }])).toBe('OFPET_BAD_MATCH/OFPBMC_BAD_PREREQ');
    expect(h.sw.tables.flowCount).toBe(0);
  });
});
