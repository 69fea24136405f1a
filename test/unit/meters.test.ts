/*
 * Meters: token buckets against a fake clock (packets/s and kbit/s, bursts,
 * the highest exceeded band wins), DSCP remark through the pipeline with a
 * valid checksum, the meter-mod errors, deleting a meter with its flows, and
 * the multipart bodies.
 */

import { describe, expect, it } from 'vitest';
import { PipelineStat } from '../../src/datapath/rules/actions-exec.js';
import { METER_DROP, METER_PASS, MeterTable } from '../../src/datapath/rules/meters.js';
import { OfMeters } from '../../src/openflow/ofproto/meter-mods.js';
import { OFPET, OFPFF, OFPM, OFPMC, OFPMF, OFPMMFC, OFPRR } from '../../src/openflow/codec/v13/enums.js';
import type { MeterBand, MeterMod } from '../../src/openflow/codec/v13/msg/meter-mod.js';
import type { MeterStatsReply } from '../../src/openflow/codec/v13/msg/mp-meter.js';
import { udpFrame } from '../helpers/frames.js';
import { apply, badChecksums, fm, inPort, layout, loadFrame, out, setup } from '../helpers/of-harness.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

function mm(meterId: number, flags: number, bands: MeterBand[], command: number = OFPMC.ADD): MeterMod {
  return { type: 'meter_mod', xid: 0, command, flags, meterId, bands };
}

const drop = (rate: number, burstSize = 0): MeterBand => ({ type: 'drop', rate, burstSize });
const remark = (rate: number, precLevel: number, burstSize = 0): MeterBand => ({ type: 'dscp_remark', rate, burstSize, precLevel });

/** A meter installed through the OpenFlow meter-mod translation: `t` is the datapath's table, `of` its OpenFlow face. */
function meterOf(m: MeterMod, now = 0): { t: MeterTable; of: OfMeters; slot: number } {
  const of = new OfMeters(new MeterTable());
  expect(of.check(m)).toBeNull();
  of.apply(m, now);
  return { t: of.table, of, slot: of.table.slotOf(m.meterId) };
}

describe('token buckets', () => {
  it('pktps: passes the burst, then the rate, drops the rest', () => {
    const { t, of, slot } = meterOf(mm(1, OFPMF.PKTPS | OFPMF.BURST, [drop(100, 10)]));
    const run = (n: number, now: number) => {
      let passed = 0;
      for (let i = 0; i < n; i++) if (t.run(slot, 64, now) === METER_PASS) passed++;
      return passed;
    };
    expect(run(50, 0)).toBe(10); // the burst
    expect(run(50, 100)).toBe(10); // 100 ms at 100 pkt/s
    expect(run(50, 10_000)).toBe(10); // refilled, but never past the burst
    // A steady 80 pkt/s (one every 12.5 ms) stays under 100 pkt/s: nothing dropped.
    let passed = 0;
    for (let i = 1; i <= 400; i++) if (t.run(slot, 64, 10_000 + i * 12.5) === METER_PASS) passed++;
    expect(passed).toBe(400);
    const stats = of.stats(1, 20_000, () => 0)[0];
    expect(stats.packetInCount).toBe(550n);
    expect(stats.bandStats[0].packetBandCount).toBe(120n);
  });

  it('kbps: counts bits; default depth is one second at the rate', () => {
    const { t, slot } = meterOf(mm(2, OFPMF.KBPS, [drop(80)])); // 80 kbit/s = 10 000 bytes/s
    let passed = 0;
    for (let i = 0; i < 100; i++) if (t.run(slot, 1000, 0) === METER_PASS) passed++;
    expect(passed).toBe(10);
    expect(t.run(slot, 1000, 50)).toBe(METER_DROP); // 50 ms: 4000 bits, not enough for 8000
    expect(t.run(slot, 1000, 100)).toBe(METER_PASS);
  });

  it('the exceeded band with the highest rate applies: remark between the rates, drop above', () => {
    const { t, slot } = meterOf(mm(3, OFPMF.PKTPS | OFPMF.BURST, [remark(10, 2, 5), drop(100, 20)]));
    const out: number[] = [];
    for (let i = 0; i < 25; i++) out.push(t.run(slot, 64, 0));
    expect(out.slice(0, 5)).toEqual([0, 0, 0, 0, 0]); // both bands conform
    expect(out.slice(5, 20)).toEqual(Array(15).fill(2)); // over 10 pkt/s: remark by 2
    expect(out.slice(20)).toEqual(Array(5).fill(METER_DROP)); // over 100 pkt/s: drop
  });
});

describe('meters in the pipeline', () => {
  it('a flow with a meter drops what is over the rate (fake clock)', () => {
    const h = setup();
    expect(h.sw.meterMod(mm(1, OFPMF.PKTPS | OFPMF.BURST, [drop(5, 3)]))).toBeNull();
    h.flow({ match: [inPort(1)], instructions: [{ type: 'meter', meterId: 1 }, apply(out(2))] });
    const frames = Array.from({ length: 10 }, (_, i) => udpFrame(B, A, { sport: i }));
    h.send(0, ...frames);
    expect(h.taken()[1]).toHaveLength(3);
    h.clock.now += 400; // 2 more tokens
    h.send(0, ...frames);
    expect(h.taken()[1]).toHaveLength(2);
    expect(h.sw.pipeline.stats[PipelineStat.MeterDrops]).toBe(15);
  });

  it('a remark band raises the DSCP drop precedence and keeps the IPv4 checksum valid', () => {
    const h = setup();
    expect(h.sw.meterMod(mm(2, OFPMF.PKTPS | OFPMF.BURST, [remark(1, 1, 1)]))).toBeNull();
    h.flow({ match: [inPort(1)], instructions: [{ type: 'meter', meterId: 2 }, apply(out(2))] });
    const f = loadFrame('udp4');
    const { l3 } = layout(f);
    f[l3 + 1] = (10 << 2); // AF11
    f[l3 + 10] = 0;
    f[l3 + 11] = 0;
    let s = 0;
    for (let i = 0; i < 20; i += 2) s += (f[l3 + i] << 8) | f[l3 + i + 1];
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    f[l3 + 10] = (~s >> 8) & 0xff;
    f[l3 + 11] = ~s & 0xff;
    h.send(0, f, f);
    const [first, second] = h.taken()[1];
    expect(first).toEqual(f);
    expect(second[l3 + 1] >> 2).toBe(12); // AF11 -> AF12
    expect(badChecksums(second)).toEqual([]);
  });
});

describe('meter-mod', () => {
  it('answers each bad meter-mod with its code', () => {
    const h = setup();
    const err = (m: MeterMod) => {
      const e = h.sw.meterMod(m);
      return e && [e.type, e.code];
    };
    const F = OFPMF.KBPS;
    expect(err(mm(1, F, [drop(1000)]))).toBeNull();
    expect(err(mm(1, F, [drop(1000)]))).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.METER_EXISTS]);
    expect(err(mm(2, F, [drop(1000)], OFPMC.MODIFY))).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.UNKNOWN_METER]);
    expect(err(mm(0, F, [drop(1000)]))).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.INVALID_METER]);
    expect(err(mm(OFPM.MAX + 1, F, [drop(1000)]))).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.INVALID_METER]);
    expect(err(mm(3, OFPMF.KBPS | OFPMF.PKTPS, [drop(1000)]))).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.BAD_FLAGS]);
    expect(err(mm(3, 0, [drop(1000)]))).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.BAD_FLAGS]);
    expect(err(mm(3, F, [drop(0)]))).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.BAD_RATE]);
    expect(err(mm(3, F | OFPMF.BURST, [drop(10, 0)]))).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.BAD_BURST]);
    expect(err(mm(3, F, [{ type: 'experimenter', rate: 1, burstSize: 0, experimenter: 1, data: new Uint8Array(0) }]))).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.BAD_BAND]);
    expect(err(mm(3, F, [remark(10, 0)]))).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.BAD_BAND_VALUE]);
    expect(err(mm(3, F, Array.from({ length: 17 }, (_, i) => drop(i + 1))))).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.OUT_OF_BANDS]);
    expect(err({ ...mm(3, F, []), command: 7 })).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.BAD_COMMAND]);
    // The reserved meters are accepted.
    expect(err(mm(OFPM.CONTROLLER, OFPMF.PKTPS, [drop(100)]))).toBeNull();
    expect(err(mm(OFPM.SLOWPATH, OFPMF.PKTPS, [drop(100)]))).toBeNull();
    expect(h.sw.meters.size).toBe(3);
    // A flow may only use a meter that exists.
    const e = h.sw.flowMod(fm({ match: [], instructions: [{ type: 'meter', meterId: 9 }] }));
    expect(e && [e.type, e.code]).toEqual([OFPET.METER_MOD_FAILED, OFPMMFC.UNKNOWN_METER]);
  });

  it('modify changes the rate in place; delete removes the flows that use the meter', () => {
    const h = setup();
    expect(h.sw.meterMod(mm(4, OFPMF.PKTPS | OFPMF.BURST, [drop(1, 1)]))).toBeNull();
    h.flow({ match: [inPort(1)], flags: OFPFF.SEND_FLOW_REM, instructions: [{ type: 'meter', meterId: 4 }, apply(out(2))] });
    h.flow({ match: [inPort(2)], instructions: [apply(out(3))] });
    const frames = Array.from({ length: 5 }, (_, i) => udpFrame(B, A, { sport: i }));
    h.send(0, ...frames);
    expect(h.taken()[1]).toHaveLength(1);
    expect(h.sw.meterMod(mm(4, OFPMF.PKTPS | OFPMF.BURST, [drop(100, 50)], OFPMC.MODIFY))).toBeNull();
    h.send(0, ...frames);
    expect(h.taken()[1]).toHaveLength(5);
    expect(h.sw.meterMod(mm(4, 0, [], OFPMC.DELETE))).toBeNull();
    expect(h.sw.tables.flowCount).toBe(1);
    expect(h.events.flowRemoved.map((r) => r.reason)).toEqual([OFPRR.DELETE]);
    h.send(0, ...frames);
    expect(h.taken()[1]).toHaveLength(0);
  });

  it('reports meter stats, config and features', () => {
    const h = setup();
    const bands = [drop(1000, 100)];
    expect(h.sw.meterMod(mm(5, OFPMF.KBPS | OFPMF.BURST | OFPMF.STATS, bands))).toBeNull();
    h.flow({ match: [inPort(1)], instructions: [{ type: 'meter', meterId: 5 }, apply(out(2))] });
    h.send(0, udpFrame(B, A, { size: 100 }), udpFrame(B, A, { size: 100 }));
    h.clock.now += 3000;
    const [stats] = h.sw.multipart({ type: 'meter', meterId: OFPM.ALL }) as MeterStatsReply[];
    expect(stats.entries).toHaveLength(1);
    expect(stats.entries[0]).toMatchObject({ meterId: 5, flowCount: 1, packetInCount: 2n, byteInCount: 200n, durationSec: 3 });
    expect(stats.entries[0].bandStats).toEqual([{ packetBandCount: 0n, byteBandCount: 0n }]);
    expect(h.sw.multipart({ type: 'meter_config', meterId: 5 })).toEqual([{ type: 'meter_config', entries: [{ flags: OFPMF.KBPS | OFPMF.BURST | OFPMF.STATS, meterId: 5, bands }] }]);
    expect(h.sw.multipart({ type: 'meter_config', meterId: 6 })).toEqual([{ type: 'meter_config', entries: [] }]);
    expect(h.sw.multipart({ type: 'meter_features' })).toEqual([
      { type: 'meter_features', maxMeter: 65536, bandTypes: 0b110, capabilities: 0b1111, maxBands: 16, maxColor: 0 },
    ]);
  });
});
