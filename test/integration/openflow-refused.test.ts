/*
 * Refused messages and the role check order through the real process and a
 * real socket: linc-ts with two TAP ports and `--listen ptcp:0`; two
 * connections to the listener, one master and one slave (1.3.5 6.3.5).
 * - the slave's writes get OFPBRC_IS_SLAVE before anything else is checked:
 *   a packet-out from a port the switch does not have, issue 12's
 *   MODIFY-with-OFPTT_ALL bytes, a packet-out that does not even decode;
 * - the master gets each message's own error: OFPBRC_BAD_PORT for those
 *   packet-outs (A.3.7), OFPFMFC_BAD_TABLE_ID and OFPFMFC_BAD_FLAGS for
 *   issue 12's flow-mods (A.3.4.1), OFPSCFC_BAD_FLAGS for its SET_CONFIG
 *   (A.3.2);
 * - nothing changed (the flow installed first is as it was, the config too)
 *   and both connections are still up (echo).
 * The bytes are the fixtures of test/fixtures/of13/refused and bad/.
 */

import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, errorName, makeHello, OFPCR_ROLE, OFPG, OFPP, OFPTT, type ErrorMsg, type MultipartReply } from '../../src/openflow/codec/wire.js';
import { PeerController } from '../helpers/fake-of-switch.js';
import { SwitchProcess, Topology } from '../helpers/netns.js';
import { missing, netns } from '../helpers/requirements.js';
import { readHexFixture } from '../unit/openflow/fixtures.js';

const fixture = (name: string): Buffer => readHexFixture(name).bytes;

describe.skipIf(missing(netns))('refused messages and the role check order over the listener', () => {
  const topo = new Topology();
  let sw: SwitchProcess;
  let port: number;
  const peers: PeerController[] = [];

  async function open(): Promise<PeerController> {
    const sock = connect(port, '127.0.0.1');
    await once(sock, 'connect');
    const peer = new PeerController(sock);
    peers.push(peer);
    peer.send(makeHello(1));
    await peer.waitFor((m) => m.type === 'hello');
    return peer;
  }

  /** Sends `bytes`, then an echo; returns the errors answered before the echo reply (which proves the connection is up). */
  async function ask(peer: PeerController, bytes: Uint8Array, echoXid: number): Promise<string[]> {
    peer.received.splice(0);
    peer.sendRaw(bytes);
    peer.send({ type: 'echo_request', xid: echoXid, data: Buffer.from('up') });
    await peer.waitFor((m) => m.type === 'echo_reply' && m.xid === echoXid);
    return peer.received.filter((m): m is ErrorMsg => m.type === 'error').map((e) => `${e.xid.toString(16)} ${errorName(e.errType, e.code)}`);
  }

  async function flows(peer: PeerController, xid: number): Promise<unknown> {
    peer.send({ type: 'multipart_request', xid, flags: 0, body: { type: 'flow', tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] } });
    const r = await peer.waitFor((m): m is MultipartReply => m.type === 'multipart_reply' && m.xid === xid);
    const body = r.body as { entries: Array<{ priority: number; tableId: number; instructions: unknown }> };
    return body.entries.map((e) => ({ tableId: e.tableId, priority: e.priority, instructions: e.instructions }));
  }

  beforeAll(async () => {
    sw = await SwitchProcess.start([
      'run', '--port', `tap:${topo.ifname('ra')}=1`, '--port', `tap:${topo.ifname('rb')}=2`, '--listen', 'ptcp:0',
      '--metrics', 'off', '--admin-socket', 'off',
    ]);
    const l = await sw.waitForLog((x) => x.msg === 'openflow listener listening');
    port = l.port as number;
  });

  afterAll(async () => {
    for (const p of peers) p.close();
    await sw?.stop();
    topo.cleanup();
  });

  it('a slave gets IS_SLAVE first; the master gets each message\'s own error; nothing changes; both stay up', async () => {
    const master = await open();
    const slave = await open();
    master.send({ type: 'role_request', xid: 1, role: OFPCR_ROLE.MASTER, generationId: 10n });
    await master.waitFor((m) => m.type === 'role_reply' && m.xid === 1);
    slave.send({ type: 'role_request', xid: 2, role: OFPCR_ROLE.SLAVE, generationId: 10n });
    expect(await slave.waitFor((m) => m.type === 'role_reply' && m.xid === 2)).toMatchObject({ role: OFPCR_ROLE.SLAVE });

    // The flow issue 12's modifies would hit (table 0, priority 7, empty match).
    master.send({
      type: 'flow_mod', xid: 3, cookie: 0n, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0, priority: 7,
      bufferId: 0xffffffff, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0, match: [],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: 0xffff }] }],
    });
    const before = await flows(master, 4);
    expect(before).toEqual([{ tableId: 0, priority: 7, instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: 0xffff }] }] }]);

    const packetOutFrom9 = encodeMessage({
      type: 'packet_out', xid: 0x90, bufferId: 0xffffffff, inPort: 9, actions: [{ type: 'output', port: 1, maxLen: 0 }], data: Buffer.alloc(60, 0xab),
    });
    const cases: Array<[string, Uint8Array, string]> = [
      ['packet-out from port 9', packetOutFrom9, '90 OFPET_BAD_REQUEST/OFPBRC_BAD_PORT'],
      ['packet-out from ANY', fixture('refused/packet_out_in_port_any'), '51 OFPET_BAD_REQUEST/OFPBRC_BAD_PORT'],
      ['MODIFY table 0xff', fixture('refused/flow_modify_table_all'), '7f000024 OFPET_FLOW_MOD_FAILED/OFPFMFC_BAD_TABLE_ID'],
      ['MODIFY_STRICT flags 0x245d', fixture('refused/flow_modify_strict_bad_flags'), '7f000021 OFPET_FLOW_MOD_FAILED/OFPFMFC_BAD_FLAGS'],
      ['packet-out that does not decode', fixture('bad/packet_out_actions_len_past'), ''],
    ];
    let echo = 100;
    for (const [what, bytes, masterAnswer] of cases) {
      const xid = Buffer.from(bytes).readUInt32BE(4).toString(16);
      expect(await ask(slave, bytes, echo++), `slave: ${what}`).toEqual([`${xid} OFPET_BAD_REQUEST/OFPBRC_IS_SLAVE`]);
      const got = await ask(master, bytes, echo++);
      if (masterAnswer !== '') expect(got, `master: ${what}`).toEqual([masterAnswer]);
      else expect(got.map((e) => e.split(' ')[1]), `master: ${what}`).toEqual([readHexFixture('bad/packet_out_actions_len_past').comments.find((c) => c.startsWith('expect: '))!.slice(8)]);
    }
    expect(await ask(master, fixture('refused/set_config_flags_4'), echo++)).toEqual(['7f000024 OFPET_SWITCH_CONFIG_FAILED/OFPSCFC_BAD_FLAGS']);
    master.send({ type: 'get_config_request', xid: 5 });
    expect(await master.waitFor((m) => m.type === 'get_config_reply' && m.xid === 5)).toMatchObject({ flags: 0 });
    expect(await flows(slave, 6)).toEqual(before);
    expect(sw.logs.some((l) => l.level >= 50)).toBe(false); // no error-level log: bad input is not a switch fault
  });
});
