/*
 * The local port (--local-port, OVS's bridge-local port) seen from OpenFlow
 * and from the learning switch: output:LOCAL reaches it, in_port=LOCAL
 * matches what it sends, port-desc / port-status / port stats / port-mod
 * call it OFPP_LOCAL, and NORMAL treats it like any port.
 */

import { describe, expect, it } from 'vitest';
import { PipelineStat } from '../../src/datapath/rules/actions-exec.js';
import { PORT_LOCAL } from '../../src/datapath/rules/rule.js';
import { OFPP, OFPPC, OFPPR } from '../../src/openflow/codec/v13/enums.js';
import type { PortDescReply, PortStatsReply } from '../../src/openflow/codec/v13/msg/mp-stats.js';
import { dpPortNo, ofPortNo } from '../../src/openflow/ofproto/replies.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { BCAST, udpFrame } from '../helpers/frames.js';
import { apply, inPort, out, setup } from '../helpers/of-harness.js';
import { createSwitchMetrics } from '../../src/stats/metrics.js';

const A = '02:00:00:00:00:0a';
const L = '02:00:00:00:00:1c';

/** The OpenFlow harness (3 ports) plus a local port, as the switch's tick sees it join. */
function withLocal(failMode: 'secure' | 'standalone' = 'secure') {
  const h = setup(3, { failMode });
  const local = new MemoryPort({ name: 'br0', ofPort: PORT_LOCAL });
  h.dp.addPort(local);
  h.tick();
  const sendLocal = (f: Uint8Array) => {
    local.inject(f);
    local.wake();
  };
  const takenLocal = () => local.sent.splice(0).map((s) => s.frame);
  return { ...h, local, sendLocal, takenLocal };
}

describe('local port numbers', () => {
  it('are OFPP_LOCAL on the OpenFlow side and PORT_LOCAL in the datapath; others pass unchanged', () => {
    expect(ofPortNo(PORT_LOCAL)).toBe(OFPP.LOCAL);
    expect(dpPortNo(OFPP.LOCAL)).toBe(PORT_LOCAL);
    expect(ofPortNo(7)).toBe(7);
    expect(dpPortNo(7)).toBe(7);
  });
});

describe('output:LOCAL', () => {
  it('reaches the local port; nothing is counted as a local-port drop', () => {
    const h = withLocal();
    h.flow({ match: [inPort(1)], instructions: [apply(out(OFPP.LOCAL))] });
    h.send(0, udpFrame(L, A));
    expect(h.takenLocal()).toEqual([udpFrame(L, A)]);
    expect(h.taken()).toEqual([[], [], []]);
    expect(h.sw.pipeline.stats[PipelineStat.LocalDrops]).toBe(0);
  });

  it('matches what the local port sends with in_port=LOCAL, and does not send it back there', () => {
    const h = withLocal();
    h.flow({ match: [inPort(OFPP.LOCAL)], instructions: [apply(out(2), out(OFPP.LOCAL))] });
    h.sendLocal(udpFrame(A, L));
    expect(h.taken()).toEqual([[], [udpFrame(A, L)], []]);
    expect(h.takenLocal()).toEqual([]);
    expect(h.sw.pipeline.stats[PipelineStat.InPortDrops]).toBe(1);
  });

  it('drops, counted, when port-mod set NO_FWD on LOCAL', () => {
    const h = withLocal();
    expect(h.sw.portMod({ type: 'port_mod', xid: 0, portNo: OFPP.LOCAL, hwAddr: 0, config: OFPPC.NO_FWD, mask: OFPPC.NO_FWD, advertise: 0 })).toBeNull();
    h.flow({ match: [inPort(1)], instructions: [apply(out(OFPP.LOCAL))] });
    h.send(0, udpFrame(L, A));
    expect(h.takenLocal()).toEqual([]);
    expect(h.events.portStatus.at(-1)).toMatchObject({ reason: OFPPR.MODIFY, desc: { portNo: OFPP.LOCAL, config: OFPPC.NO_FWD } });
  });
});

describe('packet-out with in_port=LOCAL', () => {
  it('comes from the local port: FLOOD leaves it out, IN_PORT sends to it', () => {
    const h = withLocal();
    const packetOut = (port: number) => h.sw.packetOut({ type: 'packet_out', xid: 0, bufferId: 0xffffffff, inPort: OFPP.LOCAL, actions: [out(port)], data: udpFrame(BCAST, L) });
    expect(packetOut(OFPP.FLOOD)).toBeNull();
    expect(h.taken()).toEqual([[udpFrame(BCAST, L)], [udpFrame(BCAST, L)], [udpFrame(BCAST, L)]]);
    expect(h.takenLocal()).toEqual([]);
    expect(packetOut(OFPP.IN_PORT)).toBeNull();
    expect(h.takenLocal()).toEqual([udpFrame(BCAST, L)]);
  });
});

describe('port description and stats', () => {
  it('announce the local port as LOCAL (port-status ADD, port-desc, port stats)', () => {
    const h = withLocal();
    expect(h.events.portStatus.map((e) => [e.reason, e.desc.portNo, e.desc.name])).toEqual([[OFPPR.ADD, OFPP.LOCAL, 'br0']]);
    const [pd] = h.sw.multipart({ type: 'port_desc' }) as PortDescReply[];
    expect(pd.ports.map((p) => [p.portNo, p.name])).toEqual([[1, 'm1'], [2, 'm2'], [3, 'm3'], [OFPP.LOCAL, 'br0']]);
    h.sendLocal(udpFrame(BCAST, L));
    const [one] = h.sw.multipart({ type: 'port_stats', portNo: OFPP.LOCAL }) as PortStatsReply[];
    expect(one.entries.map((e) => [e.portNo, e.rxPackets])).toEqual([[OFPP.LOCAL, 1n]]);
  });

  it('label the local port port="LOCAL" in /metrics', async () => {
    const h = withLocal();
    h.sendLocal(udpFrame(BCAST, L));
    const text = await createSwitchMetrics({ datapath: h.dp, normal: h.normal, datapathId: 1n, version: 'test' }).scrape();
    expect(text).toContain('linc_port_rx_packets_total{port="LOCAL",name="br0"} 1\n');
    expect(text).toContain('linc_port_rx_packets_total{port="1",name="m1"} 0\n');
  });
});

describe('standalone', () => {
  it('makes the local port a member of the learning switch like any port', () => {
    const h = withLocal('standalone');
    h.send(0, udpFrame(BCAST, A));
    expect(h.takenLocal()).toEqual([udpFrame(BCAST, A)]);
    h.taken();
    h.sendLocal(udpFrame(A, L)); // A known on port 1
    expect(h.taken()).toEqual([[udpFrame(A, L)], [], []]);
    h.send(0, udpFrame(L, A)); // L learned on LOCAL
    expect(h.takenLocal()).toEqual([udpFrame(L, A)]);
    expect(h.taken()).toEqual([[], [], []]);
  });
});
