/*
 * The controller manager's read-only state view (controllerStates, for
 * `linc-ts status`): a refused connect is backing off with its error, a
 * hanging one is connecting, an accepted one negotiates until the hello
 * and is then connected with its role; a drop backs off with the reason.
 * Also the service connections and wantsPacketIn (a trace's "held back").
 */

import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ControllerManager } from '../../src/openflow/transport/controller-manager.js';
import { parseControllerTarget, type ConnectFn } from '../../src/openflow/transport/connections.js';
import { makeHello, OFPCR_ROLE, OFPR } from '../../src/openflow/codec/wire.js';
import { duplexPair, FakeOfSwitch, flush, PeerController } from '../helpers/fake-of-switch.js';

const silent = pino({ level: 'silent' });
const managers: ControllerManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.close();
  vi.useRealTimers();
});

type Behaviour = 'refuse' | 'hang' | 'accept';

function manager(plan: Behaviour[]) {
  const peers: PeerController[] = [];
  const connect: ConnectFn = () => {
    const [near, far] = duplexPair();
    const next = plan.shift() ?? 'hang';
    if (next === 'refuse') queueMicrotask(() => near.emit('error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
    else if (next === 'accept') {
      peers.push(new PeerController(far));
      queueMicrotask(() => near.emit('connect'));
    }
    return near;
  };
  const target = parseControllerTarget('tcp:192.0.2.1:6653');
  if (typeof target === 'string') throw new Error(target);
  const mgr = new ControllerManager({ sw: new FakeOfSwitch(), log: silent, controllers: [target], connect, inactivityProbeMs: 0 });
  managers.push(mgr);
  void mgr.start();
  return { mgr, peers };
}

describe('controllerStates', () => {
  it('backing off after a refusal, connecting while a connect hangs, negotiating, connected as master, backing off after a drop', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { mgr, peers } = manager(['refuse', 'hang', 'accept']);
    await flush();
    expect(mgr.controllerStates()).toMatchObject([
      { target: 'tcp:192.0.2.1:6653', state: 'backing-off', role: 'equal', attempts: 1, lastError: 'connection failed: ECONNREFUSED' },
    ]);
    await vi.advanceTimersByTimeAsync(1001); // the second attempt hangs
    expect(mgr.controllerStates()[0]).toMatchObject({ state: 'connecting', attempts: 2 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(mgr.controllerStates()[0]).toMatchObject({ state: 'connecting', attempts: 2 });
    await vi.advanceTimersByTimeAsync(1000); // given up after 2 s (the backoff then); the third attempt 2 s later
    expect(mgr.controllerStates()[0]).toMatchObject({ state: 'backing-off', attempts: 2, lastError: 'connect timed out' });
    await vi.advanceTimersByTimeAsync(2000);
    expect(mgr.controllerStates()[0]).toMatchObject({ state: 'negotiating', attempts: 3 });
    expect(mgr.wantsPacketIn(OFPR.NO_MATCH)).toBe(false);
    const peer = peers[0];
    peer.send(makeHello(1));
    peer.send({ type: 'role_request', xid: 2, role: OFPCR_ROLE.MASTER, generationId: 7n });
    await flush();
    const up = mgr.controllerStates()[0];
    expect(up).toMatchObject({ state: 'connected', role: 'master', attempts: 3 });
    expect(up.sinceMs).toBeLessThanOrEqual(performance.now());
    expect(mgr.wantsPacketIn(OFPR.NO_MATCH)).toBe(true);
    expect(mgr.serviceConnections()).toEqual([]);
    peer.close();
    await flush();
    expect(mgr.controllerStates()[0]).toMatchObject({ state: 'backing-off', role: 'equal', lastError: expect.stringMatching(/closed/) as string });
  });

  it('lists connections to the listeners as service connections', async () => {
    const mgr = new ControllerManager({ sw: new FakeOfSwitch(), log: silent, inactivityProbeMs: 0 });
    managers.push(mgr);
    await mgr.start();
    const [near, far] = duplexPair();
    mgr.attach(near, 'service', 'tcp:127.0.0.1:40000');
    const peer = new PeerController(far);
    expect(mgr.serviceConnections()).toEqual([{ peer: 'tcp:127.0.0.1:40000', up: false, role: 'equal' }]);
    peer.send(makeHello(1));
    await flush();
    expect(mgr.serviceConnections()).toEqual([{ peer: 'tcp:127.0.0.1:40000', up: true, role: 'equal' }]);
    expect(mgr.controllerStates()).toEqual([]);
  });
});
