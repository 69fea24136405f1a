/*
 * Fair service under overload: one wakeup of a port reads at most its budget
 * (roundsPerWakeup bursts) and returns, so a port that always has frames
 * waiting cannot keep the datapath from the other ports' wakeups.
 */

import { describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { PortStat } from '../../src/datapath/port-counters.js';
import { PacketPool } from '../../src/packet/pool.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { BCAST, udpFrame } from '../helpers/frames.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';
const D = '02:00:00:00:00:0d';

function setup(roundsPerWakeup: number) {
  const dp = new Datapath({ pool: new PacketPool({ slots: 512 }), burst: 32, roundsPerWakeup });
  dp.pipeline = new NormalSwitch();
  const ports = [1, 2, 3, 4].map((n) => new MemoryPort({ name: `m${n}`, ofPort: n }));
  for (const p of ports) dp.addPort(p);
  // Learn every MAC (a broadcast from each host): port n has host n.
  [A, B, C, D].forEach((mac, i) => {
    ports[i].inject(udpFrame(BCAST, mac));
    ports[i].wake();
  });
  for (const p of ports) p.sent.length = 0;
  return { dp, ports };
}

describe('fair service under overload', () => {
  it('serves a flooding port at most roundsPerWakeup bursts per wakeup; the idle ports are served in the same turn', () => {
    for (const rounds of [1, 4]) {
      const { dp, ports } = setup(rounds);
      const [p1, p2, p3, p4] = ports;
      p1.setGenerator([udpFrame(B, A)]);
      p1.offer(1_000_000); // a flood: always readable
      p3.inject(udpFrame(D, C)); // one frame waiting on an idle port
      // One event-loop turn: every ready port's wakeup, as libuv calls them.
      p1.wake();
      p3.wake();
      const budget = rounds * dp.burst;
      expect(dp.port(1)!.counters.c[PortStat.RxFrames]).toBe(1 + budget);
      expect(p1.rxPending).toBe(1_000_000 - budget);
      expect(p2.sent.length).toBe(budget);
      // The idle port's frame went out in the same turn, whatever the flood left behind.
      expect(p4.sent.length).toBe(1);
      // The next turn takes one more budget from the flood, no more.
      p1.wake();
      expect(p1.rxPending).toBe(1_000_000 - 2 * budget);
    }
  });

  it('a busy-poll pass takes at most the same budget from each port', () => {
    const { dp, ports } = setup(4);
    ports[0].setGenerator([udpFrame(B, A)]);
    ports[0].offer(10_000);
    ports[2].inject(udpFrame(D, C));
    for (const p of dp.portList) dp.pollPort(p, true);
    expect(ports[0].rxPending).toBe(10_000 - 4 * dp.burst);
    expect(ports[3].sent.length).toBe(1);
  });
});
