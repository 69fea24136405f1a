/*
 * The end-to-end benchmark's forwarder table (bench/e2e-forwarders.ts): its
 * rows are well formed, the OpenFlow rows' flow tables are what their names
 * say and never match the benchmark's traffic, and selecting rows (with an
 * A/B base tree) keeps the order and refuses unknown names.
 */

import { describe, expect, it } from 'vitest';
import { FORWARDERS, openflowFlows, selectForwarders } from '../../bench/e2e-forwarders.js';

describe('bench forwarder table', () => {
  it('has unique names, and a C mode for every link a C row lists', () => {
    expect(new Set(FORWARDERS.map((f) => f.name)).size).toBe(FORWARDERS.length);
    for (const f of FORWARDERS) {
      expect(f.links.length).toBeGreaterThan(0);
      if ('c' in f.start) for (const l of f.links) expect(f.start.c[l], `${f.name} on ${l}`).toMatch(/^[a-z-]+$/);
      if ('bridge' in f.start) expect(f.links).toEqual(['veth']);
    }
  });

  it('gives the 2-flow table only the in_port pair', () => {
    expect(openflowFlows(2)).toEqual(['priority=100,in_port=1,actions=output:2', 'priority=100,in_port=2,actions=output:1']);
  });

  it('gives the 1000-flow table 998 distinct non-matching flows above the pair, and a table-miss', () => {
    const flows = openflowFlows(1000);
    expect(flows).toHaveLength(1001);
    expect(new Set(flows).size).toBe(1001);
    expect(flows.slice(0, 2)).toEqual(openflowFlows(2));
    expect(flows[1000]).toBe('priority=0,actions=drop');
    const others = flows.slice(2, 1000);
    for (const f of others) {
      const m = /^priority=200,(?:ip,nw_dst=10\.200\.(\d+)\.(\d+)|eth_dst=0e:00:00:00:([0-9a-f]{2}):([0-9a-f]{2})),actions=output:[12]$/.exec(f);
      expect(m, f).not.toBeNull();
      if (m![1] !== undefined) expect(Number(m![1]) < 256 && Number(m![2]) < 256, f).toBe(true);
    }
    expect(others.filter((f) => f.includes('nw_dst=')).length).toBe(499);
    expect(others.filter((f) => f.includes('eth_dst=')).length).toBe(499);
  });

  it('selects rows in table order, with a base twin after each linc-ts row', () => {
    const rows = selectForwarders(['c-fwd', 'linc-ts OpenFlow 2 flows'], '/base/dist/src/cli.js');
    expect(rows.map((r) => r.name)).toEqual(['linc-ts OpenFlow 2 flows', 'linc-ts OpenFlow 2 flows (base)', 'c-fwd']);
    expect(rows[1].start).toEqual({ linc: { flows: 2, cli: '/base/dist/src/cli.js' } });
    expect(rows[1].links).toEqual(rows[0].links);
    expect(selectForwarders(undefined, undefined)).toEqual(FORWARDERS);
  });

  it('refuses an unknown forwarder, naming the known ones', () => {
    expect(() => selectForwarders(['linc'], undefined)).toThrow(/no forwarder named "linc"; the forwarders are "linc-ts", /);
  });
});
