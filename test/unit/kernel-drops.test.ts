/*
 * Kernel drops: the /proc/net/dev column a TAP's drops are read from, the
 * deltas of a cumulative counter, and the datapath adding a port's drops to
 * RxDropKernel (ticks and port removal).
 */

import { describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { PortStat } from '../../src/datapath/port-counters.js';
import { PacketPool } from '../../src/packet/pool.js';
import { CumulativeDrops, netDevTxDropped } from '../../src/ports/kernel-drops.js';
import { MemoryPort } from '../../src/ports/memory-port.js';

// Layout of /proc/net/dev (two header lines, then one line per interface).
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  tap7: 5555555   77777    1    2    3     4          5         6  8888888   99999    7  4321    8     9      10         11
tapname12345678:  1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
`;

describe('kernel drops', () => {
  it('reads the tx drop column of the named interface only', () => {
    expect(netDevTxDropped(NET_DEV, 'tap7')).toBe(4321);
    expect(netDevTxDropped(NET_DEV, 'lo')).toBe(0);
    expect(netDevTxDropped(NET_DEV, 'tapname12345678')).toBe(12);
    expect(netDevTxDropped(NET_DEV, 'tap')).toBeNull();
    expect(netDevTxDropped('garbage\n', 'tap7')).toBeNull();
    expect(netDevTxDropped('  tap7: 1 2 3\n', 'tap7')).toBeNull();
  });

  it('turns a cumulative counter into deltas: the first reading is the baseline, a reset counts nothing', () => {
    const d = new CumulativeDrops();
    expect(d.advance(1000)).toBe(0);
    expect(d.advance(1010)).toBe(10);
    expect(d.advance(null)).toBe(0);
    expect(d.advance(1015)).toBe(5);
    expect(d.advance(3)).toBe(0);
    expect(d.advance(4)).toBe(1);
  });

  it('adds each port\'s kernel drops to RxDropKernel on every tick, and once more when the port is removed', () => {
    const dp = new Datapath({ pool: new PacketPool({ slots: 64 }), burst: 8 });
    const a = new MemoryPort({ name: 'a', ofPort: 1 });
    const b = new MemoryPort({ name: 'b', ofPort: 2 });
    dp.addPort(a);
    dp.addPort(b);
    a.kernelDrops = 10;
    dp.tick(0);
    a.kernelDrops = 5;
    b.kernelDrops = 1;
    dp.tick(1000);
    expect(dp.port(1)!.counters.c[PortStat.RxDropKernel]).toBe(15);
    expect(dp.port(2)!.counters.c[PortStat.RxDropKernel]).toBe(1);
    a.kernelDrops = 2;
    const removed = dp.removePort(1)!;
    expect(removed.counters.c[PortStat.RxDropKernel]).toBe(17);
    expect(removed.counters.toJSON().rx_drop_kernel).toBe(17);
  });
});
