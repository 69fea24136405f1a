/*
 * What an installed flow keeps (src/openflow/ofproto/flow-store.ts,
 * src/datapath/rules/row-slab.ts) and the memory reclaimer
 * (src/memory-reclaim.ts): flows share masks and compiled programs where
 * they agree, never where they differ (a group moved to another slot, another
 * cookie or table), rows carved from shared chunks do not overlap, and the
 * reclaimer runs once per settled large drop, never during a storm.
 */

import { describe, expect, it } from 'vitest';
import { KEY_WORDS } from '../../src/flow/key.js';
import { FlowTable } from '../../src/datapath/rules/flow-table.js';
import { Float64Rows, Uint32Rows } from '../../src/datapath/rules/row-slab.js';
import { OFPFC, OFPG, OFPP } from '../../src/openflow/codec/v13/enums.js';
import type { Instruction } from '../../src/openflow/codec/v13/instructions.js';
import { OfFlowTable, originOf, type TableFlowMod } from '../../src/openflow/ofproto/flow-mods.js';
import { FlowStore } from '../../src/openflow/ofproto/flow-store.js';
import { MemoryReclaimer } from '../../src/memory-reclaim.js';
import { loadNative } from '../../src/ports/native.js';

const output = (port: number): Instruction[] => [{ type: 'apply_actions', actions: [{ type: 'output', port, maxLen: 0 }] }];

function fm(i: number, over: Partial<TableFlowMod> = {}): TableFlowMod {
  return {
    command: OFPFC.ADD, tableId: 0, cookie: 0n, cookieMask: 0n, priority: 100, idleTimeout: 0, hardTimeout: 0, flags: 0, outPort: OFPP.ANY,
    outGroup: OFPG.ANY, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: 0x0a000000 + i }], instructions: output(1), ...over,
  };
}

describe('flow store', () => {
  it('shares masks and programs between flows that agree, and keeps keys apart', () => {
    const t = new OfFlowTable(new FlowTable(0), { groupSlot: () => -1, meterSlot: () => -1 });
    for (let i = 0; i < 200; i++) expect(t.add(fm(i, { instructions: output(1 + (i % 2)) }), 0)).toBeNull();
    const es = t.table.list();
    expect(es).toHaveLength(200);
    expect(new Set(es.map((e) => e.mask)).size).toBe(1);
    expect(new Set(es.map((e) => e.actions)).size).toBe(2);
    expect(new Set(es.map((e) => e.key)).size).toBe(200);
    const dsts = new Set(es.map((e) => (originOf(e).match[1] as { value: number }).value));
    expect(dsts.size).toBe(200);
    for (const e of es) expect(originOf(e).instructions).toEqual(output(e.outputsTo(1) ? 1 : 2));
  });

  it('compiles again when a group the instructions name sits in another slot, or the cookie or table differs', () => {
    let slot = 3;
    const store = new FlowStore({ groupSlot: () => slot, meterSlot: () => -1 });
    const toGroup: Instruction[] = [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 7 }] }];
    const a = store.actions({ tableId: 0, cookie: 0n, isTableMiss: false, instructions: toGroup });
    expect(store.actions({ tableId: 0, cookie: 0n, isTableMiss: false, instructions: structuredClone(toGroup) })).toBe(a);
    slot = 4;
    const b = store.actions({ tableId: 0, cookie: 0n, isTableMiss: false, instructions: toGroup });
    expect(b).not.toBe(a);
    expect([...b.program.code]).not.toEqual([...a.program.code]);
    expect(store.actions({ tableId: 1, cookie: 0n, isTableMiss: false, instructions: toGroup })).not.toBe(b);
    expect(store.actions({ tableId: 0, cookie: 5n, isTableMiss: false, instructions: toGroup })).not.toBe(b);
    expect(store.actions({ tableId: 0, cookie: 0n, isTableMiss: true, instructions: toGroup })).not.toBe(b);
  });
});

describe('row slabs', () => {
  it('hands out disjoint zeroed rows of the given width across chunks', () => {
    const keys = new Uint32Rows(KEY_WORDS, 4);
    const rows = Array.from({ length: 10 }, (_, i) => {
      const r = keys.take();
      expect(r.length).toBe(KEY_WORDS);
      expect(r.every((w) => w === 0)).toBe(true);
      r.fill(i + 1);
      return r;
    });
    rows.forEach((r, i) => expect(r.every((w) => w === i + 1)).toBe(true));
    const counters = new Float64Rows(3, 2);
    const c = [counters.take(), counters.take(), counters.take()];
    c[0][2] = 5;
    expect(c[1][0]).toBe(0);
    expect(c[2].length).toBe(3);
  });
});

describe('memory reclaimer', () => {
  function rig(minDrop = 100, quietTicks = 2) {
    const s = { flows: 0, reclaims: 0 };
    const r = new MemoryReclaimer({ flowCount: () => s.flows, minDrop, quietTicks, reclaim: () => s.reclaims++ });
    return { s, r };
  }

  it('reclaims once after a large drop has settled, not while flows keep changing', () => {
    const { s, r } = rig();
    for (s.flows = 0; s.flows <= 1000; s.flows += 100) expect(r.tick()).toBe(false);
    // The delete storm: the count keeps moving, nothing runs.
    for (s.flows = 1000; s.flows > 0; s.flows -= 250) expect(r.tick()).toBe(false);
    s.flows = 0;
    expect(r.tick()).toBe(false);
    expect(r.tick()).toBe(false);
    expect(r.tick()).toBe(true);
    expect(s.reclaims).toBe(1);
    for (let i = 0; i < 10; i++) expect(r.tick()).toBe(false);
    expect(r.reclaims).toBe(1);
  });

  it('sees a storm added and deleted between two ticks, through the count of flows ever added', () => {
    const s = { flows: 5, added: 5, reclaims: 0 };
    const r = new MemoryReclaimer({ flowCount: () => s.flows, flowsAdded: () => s.added, minDrop: 100, reclaim: () => s.reclaims++ });
    r.tick();
    s.added += 1000; // 1,000 flows came and went before the next tick; the count looks unchanged
    expect(r.tick()).toBe(false);
    expect(r.tick()).toBe(false);
    expect(r.tick()).toBe(true);
    expect(r.tick()).toBe(false);
    expect(s.reclaims).toBe(1);
    // Without the count of flows added, the same storm is invisible.
    const blind = rig();
    blind.s.flows = 5;
    for (let i = 0; i < 5; i++) expect(blind.r.tick()).toBe(false);
  });

  it('never reclaims during steady churn, where the count holds but flows keep being installed', () => {
    const s = { flows: 8000, added: 8000, reclaims: 0 };
    const r = new MemoryReclaimer({ flowCount: () => s.flows, flowsAdded: () => s.added, minDrop: 100, reclaim: () => s.reclaims++ });
    for (let i = 0; i < 50; i++) {
      s.added += 4000; // as many installed as deleted: the count stays at 8,000
      expect(r.tick()).toBe(false);
    }
    // Then the churn stops and everything is deleted: one reclaim once it is quiet.
    s.flows = 0;
    r.tick();
    r.tick();
    expect(r.tick()).toBe(true);
    expect(s.reclaims).toBe(1);
  });

  it('ignores small drops and drops to more than half of the high-water mark', () => {
    const { s, r } = rig(100);
    s.flows = 150;
    r.tick();
    s.flows = 80; // dropped 70 < 100
    for (let i = 0; i < 5; i++) expect(r.tick()).toBe(false);
    s.flows = 1000;
    r.tick();
    s.flows = 700; // dropped 300, but 700 > 500
    for (let i = 0; i < 5; i++) expect(r.tick()).toBe(false);
    expect(s.reclaims).toBe(0);
  });

  it("the addon's reclaimMemory collects what is no longer reachable, at once", () => {
    let junk: { i: number; a: number[] }[] | null = Array.from({ length: 300_000 }, (_, i) => ({ i, a: [i, i] }));
    const before = process.memoryUsage().heapUsed;
    expect(junk.length).toBe(300_000);
    junk = null;
    loadNative().reclaimMemory();
    expect(junk).toBeNull();
    expect(process.memoryUsage().heapUsed).toBeLessThan(before - 10 * 2 ** 20);
  });

  it('counts but does not reclaim when disabled', () => {
    let ran = 0;
    const s = { flows: 500 };
    const r = new MemoryReclaimer({ flowCount: () => s.flows, minDrop: 100, enabled: false, reclaim: () => ran++ });
    r.tick();
    s.flows = 0;
    for (let i = 0; i < 5; i++) r.tick();
    expect(ran).toBe(0);
  });
});
