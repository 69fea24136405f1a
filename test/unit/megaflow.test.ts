/*
 * The megaflow cache (megaflow.ts, pipeline-caches.ts): for random flow
 * tables (several tables, priorities, overlapping masks, metadata, set-field
 * before goto, punts) and random bursts with flow-mods mid-run, the pipeline
 * looking frames up in the megaflow cache, batched or frame at a time, sends
 * the same frames in the same order, the same packet-ins and the same flow,
 * table, port and drop counters as the frame-at-a-time exact-match-cache path.
 * Walk counts differ by design (one walk covers every key of a megaflow).
 * Also: it is the default (config, CLI, YAML, a pipeline built without the
 * option); masks it refuses go to the EMC; dump-cache reports it.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dumpCache } from '../../src/datapath/rules/cache-dump.js';
import { MEGAFLOW_DEFAULT, MF_SUBTABLES, MfStat } from '../../src/datapath/rules/megaflow.js';
import { EmcStat } from '../../src/datapath/rules/emc.js';
import { udpFrame } from '../helpers/frames.js';
import { K } from '../../src/flow/key.js';
import { cacheReport, formatCache } from '../../src/openflow/ofproto/trace-format.js';
import { loadConfigFile, resolveConfig } from '../../src/config.js';
import { configError, tempConfigDir } from '../helpers/config-files.js';
import { OfSwitch } from '../../src/openflow/ofproto/of-switch.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { startSwitch } from '../../src/switch.js';
import { pino } from 'pino';
import { PipelineStat } from '../../src/datapath/rules/actions-exec.js';
import { apply, gotoTable, inPort, out, setup, type Harness } from '../helpers/of-harness.js';
import { burstsArb, forwardingState, installRules, ip4, microflowFrame, ruleArb, udp } from '../helpers/random-flow-table.js';

/** Everything but the walk, cache and classifier counters (which a megaflow changes by design). */
const { file } = tempConfigDir('mfcfg');

function state(h: Harness) {
  return {
    ...forwardingState(h),
    tables: h.sw.tables.tables.slice(0, 4).map((t) => [...t.counters]),
    pipeline: [...h.sw.pipeline.stats].slice(PipelineStat.TableMissDrops),
  };
}

describe('the megaflow cache in the rule pipeline', () => {
  it('gives the same outputs, packet-ins and counters as the frame-at-a-time EMC path for random tables, bursts and flow-mods', () => {
    let hits = 0;
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 1, maxLength: 20 }),
        burstsArb,
        fc.array(ruleArb, { maxLength: 3 }),
        (rules, bursts, later) => {
          const reference = setup(4, { megaflow: false });
          reference.sw.pipeline.batching = false;
          const batched = setup(4); // the megaflow cache is the default
          const perFrame = setup(4);
          perFrame.sw.pipeline.batching = false;
          const all = [reference, batched, perFrame];
          for (const h of all) installRules(h, rules);
          let seq = 0;
          const rounds = [...bursts, ...bursts, ...bursts];
          for (const [round, [port, flows]] of rounds.entries()) {
            if (round % bursts.length === 0 && round > 0) {
              const mod = later.slice(0, round / bursts.length === 1 ? 1 : 3);
              for (const h of all) installRules(h, mod);
            }
            const frames = flows.map((f) => microflowFrame(f, seq++));
            for (const h of all) h.send(port, ...frames);
          }
          const want = state(reference);
          expect(state(batched)).toEqual(want);
          expect(state(perFrame)).toEqual(want);
          expect(want.inUse).toBe(0);
          hits += batched.sw.pipeline.megaflow.stats[MfStat.Hits];
        },
      ),
      { numRuns: 150 },
    );
    expect(hits).toBeGreaterThan(1000); // the megaflow cache did answer
  });

  it('covers microflows that differ only in unmatched fields with one walk', () => {
    const h = setup(3);
    expect(h.sw.pipeline.megaflowOn).toBe(true);
    h.flow({ tableId: 0, priority: 10, match: [inPort(1)], instructions: [gotoTable(1)] });
    h.flow({ tableId: 1, priority: 10, match: [ip4, { field: 'ipv4_dst', value: 0x0a000100 }], instructions: [apply(out(2))] });
    h.send(0, ...Array.from({ length: 32 }, (_, i) => microflowFrame(i & 3, i))); // four microflows, one ipv4_dst (10.0.1.0)
    expect(h.taken()[1]).toHaveLength(32);
    expect(h.sw.pipeline.stats[PipelineStat.Walks]).toBe(1);
    expect(h.sw.pipeline.megaflow.stats[MfStat.Hits]).toBe(31);
    h.flow({ tableId: 1, priority: 20, match: [ip4, { field: 'ipv4_src', value: 0x0a000002 }], instructions: [apply(out(3))] });
    h.send(0, ...Array.from({ length: 8 }, (_, i) => microflowFrame(i & 3, i)));
    const taken = h.taken();
    expect(taken[1]).toHaveLength(6); // the flow-mod moved 10.0.0.2 to port 3
    expect(taken[2]).toHaveLength(2);
  });
});

describe('dump-cache with the megaflow cache', () => {
  it('reports its totals and masks, and nothing of it while it is off', () => {
    const h = setup(3, { megaflow: false });
    h.flow({ tableId: 0, priority: 10, match: [inPort(1)], instructions: [gotoTable(1)] });
    h.flow({ tableId: 1, priority: 10, match: [ip4, { field: 'ipv4_dst', value: 0x0a000100 }], instructions: [apply(out(2))] });
    h.send(0, microflowFrame(0, 0));
    const before = cacheReport(dumpCache(h.sw.pipeline));
    expect(before.inUse).toBe('emc');
    expect(before.megaflow).toBeUndefined();
    h.sw.pipeline.setMegaflow(true);
    h.send(0, ...Array.from({ length: 8 }, (_, i) => microflowFrame(i & 3, i)));
    const r = cacheReport(dumpCache(h.sw.pipeline));
    expect(r.megaflow).toMatchObject({ live: 1, hits: 7, misses: 1, inserts: 1, refused: 0 });
    expect(r.megaflow!.masks).toHaveLength(1);
    // in_port, eth_type (the upper half of its word) and ipv4_dst: the words the two tables' masks cover
    expect(r.megaflow!.masks[0]).toBe(`${K.InPort}:ffffffff ${K.EthTypeVlan}:ffff0000 ${K.IpDst0}:ffffffff`);
    expect(r.inUse).toBe('megaflow');
    expect(formatCache(r, 'OpenFlow tables')).toMatch(new RegExp([
      '^cache in use: the megaflow cache, the exact-match cache behind it for the keys whose masks it refuses \\(forwarding: OpenFlow tables\\)',
      'megaflow cache: 1 entries live in 1 subtables; 7 hits, 1 misses, 1 inserts, 0 refused',
      ` {4}mask ${K.InPort}:ffffffff `,
    ].join('\n')));
    expect(formatCache(r, 'OpenFlow tables')).toMatch(/\nexact-match cache: 1 of 8192 entries live/); // the frame sent while it was off
    h.sw.pipeline.setEmcInsertInvProb(0);
    const off = cacheReport(dumpCache(h.sw.pipeline));
    expect(off.inUse).toBe('off');
    expect(formatCache(off, 'OpenFlow tables')).toMatch(/^cache in use: none, the caches are off \(every frame walks the tables\) \(forwarding: OpenFlow tables\)\n/);
  });
});

describe('dump-cache lists the megaflow cache\'s entries', () => {
  /** Table 0: in_port=1 -> table 1; table 1: ip,nw_dst=10.0.1.0/24 (cookie 0x7) -> output:2, ip,nw_dst=10.0.1.4 -> output:3. */
  function twoTables() {
    const h = setup(3);
    h.flow({ tableId: 0, priority: 10, match: [inPort(1)], instructions: [gotoTable(1)] });
    h.flow({ tableId: 1, priority: 10, cookie: 0x7n, match: [ip4, { field: 'ipv4_dst', value: 0x0a000100, mask: 0xffffff00 }], instructions: [apply(out(2))] });
    h.flow({ tableId: 1, priority: 20, match: [ip4, { field: 'ipv4_dst', value: 0x0a000104 }], instructions: [apply(out(3))] });
    return h;
  }

  it('each live entry: its subtable and mask, the fields the mask covers, the program, the rules it stands for and its actions', () => {
    const h = twoTables();
    // microflows 0..3 go to 10.0.1.0, 4..7 to 10.0.1.1, 16..19 to 10.0.1.4: three megaflows (the mask covers all of ipv4_dst)
    h.send(0, ...[0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19].map((f, i) => microflowFrame(f, i)));
    const r = cacheReport(dumpCache(h.sw.pipeline));
    const m = r.megaflow!;
    expect(m).toMatchObject({ live: 3, capacity: MF_SUBTABLES * 4096, hits: 9, misses: 3, inserts: 3 });
    expect(m.masks).toEqual([`${K.InPort}:ffffffff ${K.EthTypeVlan}:ffff0000 ${K.IpDst0}:ffffffff`]);
    expect(m.entries.map((e) => [e.subtable, e.mask, e.flow, e.actions]).sort()).toEqual([
      [0, m.masks[0], 'ip,in_port=1,nw_dst=10.0.1.0', 'output:2'],
      [0, m.masks[0], 'ip,in_port=1,nw_dst=10.0.1.1', 'output:2'],
      [0, m.masks[0], 'ip,in_port=1,nw_dst=10.0.1.4', 'output:3'],
    ]);
    const toTwo = m.entries.filter((e) => e.actions === 'output:2');
    expect(toTwo[0].program).toBe(toTwo[1].program); // one path, one program
    expect(toTwo[0].path!.map((p) => [p.table, p.rule?.priority, p.rule?.cookie, p.rule?.packets])).toEqual([[0, 10, '0x0', 12], [1, 10, '0x7', 8]]);
    expect(r.entries).toEqual([]); // nothing refused: the EMC behind it holds nothing
    const text = formatCache(r, 'OpenFlow tables');
    const slot = m.entries.find((e) => e.flow.endsWith('nw_dst=10.0.1.4'))!.slot;
    expect(text).toContain([
      `    mask ${m.masks[0]}`,
      '',
      'ip,in_port=1,nw_dst=10.0.1.',
    ].join('\n'));
    expect(text).toContain([
      'ip,in_port=1,nw_dst=10.0.1.4 actions:output:3',
      `    subtable 0 (mask ${m.masks[0]}), slot ${slot}, program ${m.entries.find((e) => e.slot === slot)!.program}: table 0 priority=10 cookie=0x0 n_packets=12 -> table 1 priority=20 cookie=0x0 n_packets=4`,
    ].join('\n'));
    expect(text).toMatch(/n_packets=\d+\n\nexact-match cache: 0 of 8192 entries live/);
  });

  it('a mask covering part of a field shows it as value/mask; --limit cuts the list, not the count; a flow-mod empties it', () => {
    const h = setup(3);
    h.flow({ tableId: 0, priority: 10, match: [inPort(1), ip4, { field: 'ipv4_src', value: 0x0a000000, mask: 0xfffffffc }], instructions: [apply(out(2))] });
    h.send(0, ...[0, 1, 2, 3].map((f, i) => microflowFrame(f, i))); // ipv4_src 10.0.0.1..4: 10.0.0.0/30 and 10.0.0.4/30
    const m = cacheReport(dumpCache(h.sw.pipeline)).megaflow!;
    expect(m.entries.map((e) => e.flow).sort()).toEqual(['ip,in_port=1,nw_src=10.0.0.0/30', 'ip,in_port=1,nw_src=10.0.0.4/30']);
    expect(m.entries.map((e) => e.actions).sort()).toEqual(['drop', 'output:2']); // 10.0.0.4 misses table 0
    const cut = cacheReport(dumpCache(h.sw.pipeline, 1));
    expect(cut.megaflow!.live).toBe(2);
    expect(cut.megaflow!.entries).toHaveLength(1);
    expect(formatCache(cut, 'OpenFlow tables')).toMatch(/\nshowing 1 of 2 megaflow entries\n/);
    h.flow({ tableId: 0, priority: 5, match: [ip4], instructions: [] });
    expect(cacheReport(dumpCache(h.sw.pipeline)).megaflow).toMatchObject({ live: 0, entries: [] });
  });
});

describe('the megaflow setting', () => {
  it('is on unless --no-megaflow (or megaflow: false) turns it off, and so is a pipeline built without the option', () => {
    expect(resolveConfig({}).megaflow).toBe(true);
    expect(resolveConfig({ megaflow: true }).megaflow).toBe(true);
    expect(resolveConfig({ megaflow: false }).megaflow).toBe(false); // what commander hands over for --no-megaflow
    expect(resolveConfig({}, loadConfigFile(file('off.yaml', 'megaflow: false\n'))).megaflow).toBe(false);
    expect(resolveConfig({}, loadConfigFile(file('on.yaml', 'megaflow: true\n'))).megaflow).toBe(true);
    expect(resolveConfig({ megaflow: false }, loadConfigFile(file('on2.yaml', 'megaflow: true\n'))).megaflow).toBe(false); // the command line wins
    expect(configError(() => loadConfigFile(file('bad.yaml', 'megaflow: sometimes\n')))).toMatch(/bad\.yaml: megaflow: /);
    const d = setup(2).dp;
    const sw = new OfSwitch({ datapath: d, normal: new NormalSwitch(), datapathId: 1n });
    expect(sw.pipeline.megaflowOn).toBe(MEGAFLOW_DEFAULT);
    expect(MEGAFLOW_DEFAULT).toBe(true);
  });

  it('puts a started switch\'s OpenFlow pipeline on the megaflow cache', () => {
    for (const megaflow of [undefined, false, true]) {
      const sw = startSwitch(resolveConfig({ megaflow, metrics: 'off', adminSocket: 'off' }), pino({ level: 'silent' }));
      try {
        expect(sw.ofSwitch.pipeline.megaflowOn).toBe(megaflow ?? true);
      } finally {
        sw.close();
      }
    }
  });
});

describe('masks the megaflow cache refuses', () => {
  const A = '02:00:00:00:00:0a', B = '02:00:00:00:00:0b';
  const T = MF_SUBTABLES + 2;
  /** Table 0 sends udp_src 1000+t to table t, which matches ipv4_dst 10.0.0.0/(16+t): T paths, T distinct megaflow masks. */
  const tables = (h: Harness) => {
    for (let t = 1; t <= T; t++) {
      h.flow({ tableId: 0, priority: 10, match: [ip4, udp, { field: 'udp_src', value: 1000 + t }], instructions: [gotoTable(t)] });
      h.flow({ tableId: t, priority: 10, match: [ip4, { field: 'ipv4_dst', value: 0x0a000000, mask: (0xffffffff << (16 - t)) >>> 0 }], instructions: [apply(out(2))] });
    }
  };

  it('go to the exact-match cache, whose entries answer the second pass; a generation move forgets them', () => {
    for (const batching of [true, false]) {
      const h = setup(3);
      const p = h.sw.pipeline;
      p.batching = batching;
      tables(h);
      const frames = Array.from({ length: T }, (_, i) => udpFrame(B, A, { sport: 1001 + i }));
      h.send(0, ...frames);
      expect(h.taken()[1]).toHaveLength(T);
      expect(p.stats[PipelineStat.Walks]).toBe(T);
      expect(p.megaflow.masks()).toHaveLength(MF_SUBTABLES);
      expect(p.megaflow.stats[MfStat.Inserts]).toBe(MF_SUBTABLES);
      expect(p.megaflow.stats[MfStat.Refused]).toBe(2);
      expect(p.emc.stats[EmcStat.Inserts]).toBe(2);
      // The EMC is probed only once it holds a refused key: by the last frame, not by the eight before.
      expect(p.emc.stats[EmcStat.Misses]).toBe(1);
      h.send(0, ...frames);
      expect(h.taken()[1]).toHaveLength(T);
      expect(p.stats[PipelineStat.Walks]).toBe(T); // no walk: every frame a cache hit
      expect(p.megaflow.stats[MfStat.Hits]).toBe(MF_SUBTABLES);
      expect(p.emc.stats[EmcStat.Hits]).toBe(2); // the two refused masks' frames
      // A flow-mod moves the generation: the EMC's refused keys are dead, and a megaflow miss no longer probes it.
      h.flow({ tableId: T + 1, priority: 1, match: [], instructions: [] });
      const probes = p.emc.stats[EmcStat.Hits] + p.emc.stats[EmcStat.Misses];
      h.send(0, ...frames.slice(0, MF_SUBTABLES));
      expect(h.taken()[1]).toHaveLength(MF_SUBTABLES);
      expect(p.emc.stats[EmcStat.Hits] + p.emc.stats[EmcStat.Misses]).toBe(probes);
      expect(p.stats[PipelineStat.Walks]).toBe(T + MF_SUBTABLES);
    }
  });
});
