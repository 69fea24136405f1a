/*
 * Receive moderation (src/datapath/rx-moderation.ts): the window decision on
 * a fake clock, the datapath polling every port through a window (MemoryPorts,
 * the same fake clock), and the rx-usecs / adaptive-rx settings.
 */

import { describe, expect, it } from 'vitest';
import { ADAPTIVE_RX_ANSWER_WAIT, ADAPTIVE_RX_DEFAULT_MAX_USECS, ADAPTIVE_RX_EMPTY_STREAK, ADAPTIVE_RX_MIN_USECS, MAX_RX_USECS, RxModeration } from '../../src/datapath/rx-moderation.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { NormalSwitch } from '../../src/datapath/learning/normal.js';
import { PortStat } from '../../src/datapath/port-counters.js';
import { PacketPool } from '../../src/packet/pool.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { loadConfigFile, resolveConfig } from '../../src/config.js';
import { configError, tempConfigDir } from '../helpers/config-files.js';
import { udpFrame } from '../helpers/frames.js';

/** A clock in ms that moves only when told, in microseconds. */
function fakeClock(): { now: () => number; advanceUs: (us: number) => void } {
  let t = 1000;
  return { now: () => t, advanceUs: (us) => (t += us / 1000) };
}

/** A RxModeration with `opts` on its own fake clock. */
function moderation(opts: ConstructorParameters<typeof RxModeration>[0]): { clock: ReturnType<typeof fakeClock>; m: RxModeration } {
  const clock = fakeClock();
  return { clock, m: new RxModeration(opts, clock.now) };
}

/** Two wakeups `gapUs` apart (adaptive: the gap sizes the window); what the second returned (true: it opened a window). */
function twoWakeups(m: RxModeration, clock: ReturnType<typeof fakeClock>, gapUs: number): boolean {
  m.wakeupFound();
  clock.advanceUs(gapUs);
  return m.wakeupFound();
}

describe('RxModeration, fixed window (rx-usecs)', () => {
  it('0 is no window: a wakeup never opens one', () => {
    const { m } = moderation({ rxUsecs: 0 });
    expect(m.enabled).toBe(false);
    expect(m.wakeupFound()).toBe(false);
    expect(m.active).toBe(false);
  });

  it('opens a window on a wakeup, keeps it open while polls find frames, closes it after rx-usecs of empty polls', () => {
    const { clock, m } = moderation({ rxUsecs: 50 });
    expect(m.wakeupFound()).toBe(true);
    expect(m.active).toBe(true);
    clock.advanceUs(30);
    expect(m.polled(0)).toBe(true); // 30 us of 50
    clock.advanceUs(30);
    expect(m.polled(3)).toBe(true); // frames: the end moves to 50 us from now
    clock.advanceUs(40);
    expect(m.polled(0)).toBe(true);
    clock.advanceUs(11);
    expect(m.polled(0)).toBe(false);
    expect(m.active).toBe(false);
    expect(m.usecs).toBe(50); // fixed: never adapts
    expect([m.windows, m.usefulWindows]).toEqual([1, 1]);
  });

  it('a wakeup during an open window extends it instead of opening another', () => {
    const { clock, m } = moderation({ rxUsecs: 20 });
    expect(m.wakeupFound()).toBe(true);
    clock.advanceUs(15);
    expect(m.wakeupFound()).toBe(false);
    clock.advanceUs(15); // 30 us after the first wakeup, 15 after the second
    expect(m.polled(0)).toBe(true);
    clock.advanceUs(6);
    expect(m.polled(0)).toBe(false);
    expect(m.windows).toBe(1);
    expect(m.usefulWindows).toBe(1); // the second wakeup's frames were found in the window
  });

  it("adaptive: an answer taken by its port's wakeup during the window counts as found (the window is useful, no answer wait, it grows)", () => {
    const { clock, m } = moderation({ adaptive: true, rxUsecs: 200 });
    expect(twoWakeups(m, clock, 40)).toBe(true); // the window opens: 50 us
    expect(m.usecs).toBe(50);
    clock.advanceUs(30);
    expect(m.wakeupFound()).toBe(false); // the answer, through the other port's wakeup
    clock.advanceUs(50);
    expect(m.polled(0)).toBe(false); // 50 us after the answer: closed, not lengthened to wait for an answer
    expect([m.windows, m.usefulWindows]).toEqual([1, 1]);
    expect(m.usecs).toBe(100); // useful: doubled
  });
});

describe('RxModeration, adaptive (adaptive-rx)', () => {
  it('starts at 0: a lone wakeup, or wakeups further apart than the ceiling, open no window', () => {
    const { clock, m } = moderation({ adaptive: true });
    expect(m.maxUsecs).toBe(ADAPTIVE_RX_DEFAULT_MAX_USECS);
    expect(m.usecs).toBe(0);
    expect(m.wakeupFound()).toBe(false);
    for (let i = 0; i < 10; i++) {
      clock.advanceUs(1000); // 1 kHz of lone frames
      expect(m.wakeupFound()).toBe(false);
    }
    expect(m.usecs).toBe(0);
    expect(m.windows).toBe(0);
  });

  it('sizes the window from the inter-arrival of wakeups, grows it while windows find frames, up to the ceiling', () => {
    const { clock, m } = moderation({ adaptive: true, rxUsecs: 200 });
    expect(m.maxUsecs).toBe(200);
    expect(twoWakeups(m, clock, 40)).toBe(true); // 40 us apart: a 50 us window would have caught it
    expect(m.usecs).toBe(50);
    const sizes: number[] = [];
    for (let w = 0; w < 4; w++) {
      clock.advanceUs(20);
      expect(m.polled(1)).toBe(true);
      clock.advanceUs(m.usecs + 1);
      expect(m.polled(0)).toBe(false);
      sizes.push(m.usecs);
      clock.advanceUs(10);
      expect(m.wakeupFound()).toBe(true);
    }
    expect(sizes).toEqual([100, 200, 200, 200]);
  });

  it('after a streak of empty windows, halves the window with each further empty one, down to 0, and then costs nothing', () => {
    const { clock, m } = moderation({ adaptive: true });
    expect(twoWakeups(m, clock, 80)).toBe(true);
    expect(m.usecs).toBe(100);
    const sizes: number[] = [];
    while (m.usecs > 0) {
      const size = m.usecs;
      let polls = 0;
      while (m.polled(0)) {
        clock.advanceUs(1);
        polls++;
      }
      expect(polls).toBeLessThanOrEqual(ADAPTIVE_RX_ANSWER_WAIT * size + 1); // empty: it waited for an answer, then gave up
      sizes.push(m.usecs);
      clock.advanceUs(5000); // far apart: no new window size from the gap
      m.wakeupFound();
    }
    expect(sizes).toEqual([100, 100, 100, 50, 25, 12, 6, 0]);
    expect(ADAPTIVE_RX_EMPTY_STREAK).toBe(4);
    expect(sizes.every((s) => s === 0 || s >= ADAPTIVE_RX_MIN_USECS)).toBe(true);
    expect(m.active).toBe(false);
    clock.advanceUs(5000);
    expect(m.wakeupFound()).toBe(false);
  });

  it('request/response traffic: the window learns to cover the response and keeps it despite the empty windows after it', () => {
    const { clock, m } = moderation({ adaptive: true });
    const caught: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      clock.advanceUs(1000); // a request every ms
      let elapsed = 0; // us since the request
      let gotReply = false;
      if (m.wakeupFound()) {
        // Poll every 5 us; the reply arrives 50 us after the request.
        do {
          clock.advanceUs(5);
          elapsed += 5;
          if (elapsed === 50) gotReply = true;
        } while (m.polled(elapsed === 50 ? 1 : 0));
      }
      caught.push(gotReply);
      if (!gotReply) {
        // Missed: the reply wakes the datapath 50 us after the request, and may open a window of its own (empty).
        clock.advanceUs(50 - elapsed);
        if (m.wakeupFound()) while (m.polled(0)) clock.advanceUs(5);
      }
    }
    expect(caught.slice(0, 2)).toEqual([false, true]);
    expect(caught.slice(2).every(Boolean)).toBe(true);
  });

  it('paced request/response: after the first pause the tail is off, so the window still takes the answer but closes at the first empty poll after it', () => {
    const { clock, m } = moderation({ adaptive: true });
    const caught: boolean[] = [];
    const pollsAfterAnswer: number[] = [];
    for (let i = 0; i < 10; i++) {
      clock.advanceUs(1000); // a request every ms
      let elapsed = 0;
      let gotReply = false;
      let after = 0;
      if (m.wakeupFound()) {
        // Poll every 5 us; the reply arrives 50 us after the request.
        let more: boolean;
        do {
          clock.advanceUs(5);
          elapsed += 5;
          if (gotReply) after++;
          const frames = elapsed === 50 ? 1 : 0;
          if (frames > 0) gotReply = true;
          more = m.polled(frames);
        } while (more);
      }
      caught.push(gotReply);
      pollsAfterAnswer.push(after);
      if (!gotReply) {
        clock.advanceUs(50 - elapsed);
        if (m.wakeupFound()) while (m.polled(0)) clock.advanceUs(5);
      }
    }
    expect(caught.slice(1).every(Boolean)).toBe(true); // the wait for the answer stays
    expect(m.tail).toBe(false);
    // With the tail on the window would spin its length (100 us: 20 polls) after each answer for a request 1 ms away.
    expect(pollsAfterAnswer.slice(3)).toEqual([1, 1, 1, 1, 1, 1, 1]);
  });

  it('turns the tail back on when a wakeup comes within the ceiling of a close (traffic that keeps coming), and a fixed window keeps its tail', () => {
    const { clock, m } = moderation({ adaptive: true });
    expect(twoWakeups(m, clock, 80)).toBe(true);
    clock.advanceUs(20);
    m.polled(1);
    while (m.polled(0)) clock.advanceUs(5); // a useful window, tail on: closes 100 us after its frame
    clock.advanceUs(1000); // a pause after a useful window: tail off
    expect(m.wakeupFound()).toBe(true);
    expect(m.tail).toBe(false);
    clock.advanceUs(20);
    expect(m.polled(1)).toBe(true);
    clock.advanceUs(1);
    expect(m.polled(0)).toBe(false); // closed at the first empty poll after the frame
    clock.advanceUs(30); // the next frame 30 us after the close: a tail would have caught it
    expect(m.wakeupFound()).toBe(true);
    expect(m.tail).toBe(true);
    clock.advanceUs(10);
    expect(m.polled(1)).toBe(true);
    clock.advanceUs(m.usecs - 1);
    expect(m.polled(0)).toBe(true); // its length after the frame again
    clock.advanceUs(2);
    expect(m.polled(0)).toBe(false);
    // A pause after a window that found nothing says nothing about the tail.
    clock.advanceUs(20);
    expect(m.wakeupFound()).toBe(true);
    while (m.polled(0)) clock.advanceUs(5);
    clock.advanceUs(1000);
    m.wakeupFound();
    expect(m.tail).toBe(true);

    const fixed = new RxModeration({ rxUsecs: 50 }, clock.now);
    for (let i = 0; i < 3; i++) {
      clock.advanceUs(1000);
      expect(fixed.wakeupFound()).toBe(true);
      clock.advanceUs(10);
      fixed.polled(1);
      clock.advanceUs(49);
      expect(fixed.polled(0)).toBe(true);
      clock.advanceUs(2);
      expect(fixed.polled(0)).toBe(false);
    }
    expect(fixed.tail).toBe(true);
  });

  it('waits for a late answer: a window that found nothing since its wakeup lasts twice its length, once it has found frames its length after the last', () => {
    const { clock, m } = moderation({ adaptive: true });
    expect(twoWakeups(m, clock, 80)).toBe(true);
    expect(m.usecs).toBe(100);
    expect(ADAPTIVE_RX_ANSWER_WAIT).toBe(2);
    // The answer comes 150 us after the request: past the window's 100 us, within twice that.
    clock.advanceUs(100);
    expect(m.polled(0)).toBe(true); // its length is up, but it has found nothing yet: it keeps waiting
    clock.advanceUs(50);
    expect(m.polled(1)).toBe(true); // the answer, taken without a sleep
    // After a frame the window ends its length after it, as before: no second lengthening.
    clock.advanceUs(100);
    expect(m.polled(0)).toBe(false);
    expect([m.windows, m.usefulWindows]).toEqual([1, 1]);
    // An answer that never comes: the window gives up at twice its length.
    clock.advanceUs(1000);
    expect(m.wakeupFound()).toBe(true);
    clock.advanceUs(199);
    expect(m.polled(0)).toBe(true);
    clock.advanceUs(2);
    expect(m.polled(0)).toBe(false);
    expect([m.windows, m.usefulWindows]).toEqual([2, 1]);
  });

  it('a fixed window (rx-usecs alone) does not wait for answers', () => {
    const { clock, m } = moderation({ rxUsecs: 100 });
    expect(m.wakeupFound()).toBe(true);
    clock.advanceUs(101);
    expect(m.polled(0)).toBe(false);
  });

  it('refuses a window out of range', () => {
    expect(() => new RxModeration({ rxUsecs: -1 })).toThrow(RangeError);
    expect(() => new RxModeration({ rxUsecs: 1.5 })).toThrow(RangeError);
    expect(() => new RxModeration({ rxUsecs: MAX_RX_USECS + 1 })).toThrow(RangeError);
  });
});

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

describe('Datapath with a receive moderation window', () => {
  function setUp(rxModeration: { rxUsecs?: number; adaptive?: boolean }) {
    const clock = fakeClock();
    const dp = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 32, rxModeration, clock: clock.now });
    dp.pipeline = new NormalSwitch();
    const a = new MemoryPort({ name: 'a', ofPort: 1 });
    const b = new MemoryPort({ name: 'b', ofPort: 2 });
    dp.addPort(a);
    dp.addPort(b);
    return { dp, a, b, clock };
  }

  it('takes frames that arrive during the window on any port without a wakeup, counts empty polls, then sleeps', async () => {
    const { dp, a, b, clock } = setUp({ rxUsecs: 50 });
    const ab = udpFrame(B, A);
    const ba = udpFrame(A, B);
    a.inject(ab);
    a.wake(); // the wakeup that opens the window
    expect(b.sent).toHaveLength(1);
    expect(dp.rxModeration!.active).toBe(true);
    await turns(3);
    const c1 = dp.port(1)!.counters.c;
    const c2 = dp.port(2)!.counters.c;
    expect(c1[PortStat.RxEmptyPolls]).toBeGreaterThan(0);
    expect(c2[PortStat.RxEmptyPolls]).toBeGreaterThan(0);
    b.inject(ba); // the reply: no wake(), the window's polls must find it
    await turns(2);
    expect(a.sent.map((s) => s.frame)).toEqual([ba]);
    expect(c2[PortStat.RxWakeups]).toBe(1); // a poll that found frames counts as a wakeup
    expect(c2[PortStat.RxFrames]).toBe(1);
    clock.advanceUs(51);
    await turns(2);
    expect(dp.rxModeration!.active).toBe(false);
    // Asleep: frames wait for a wakeup, and nothing is polled.
    const empty = c1[PortStat.RxEmptyPolls] + c2[PortStat.RxEmptyPolls];
    b.inject(ba);
    await turns(5);
    expect(a.sent).toHaveLength(1);
    expect(c1[PortStat.RxEmptyPolls] + c2[PortStat.RxEmptyPolls]).toBe(empty);
    dp.stop();
  });

  it('keeps the wakeup-only behaviour with rx-usecs 0 and with busy-poll', async () => {
    const { dp, a, b } = setUp({ rxUsecs: 0 });
    expect(dp.rxModeration).toBeNull();
    a.inject(udpFrame(B, A));
    a.wake();
    b.inject(udpFrame(A, B));
    await turns(5);
    expect(a.sent).toHaveLength(0);
    expect(dp.port(1)!.counters.c[PortStat.RxEmptyPolls]).toBe(0);
    dp.stop();
    const busy = new Datapath({ pool: new PacketPool({ slots: 256 }), burst: 32, busyPoll: true, rxModeration: { adaptive: true } });
    expect(busy.rxModeration).toBeNull();
    busy.stop();
  });

  it('stop() ends an open window', async () => {
    const { dp, a, b } = setUp({ rxUsecs: 10_000 });
    a.inject(udpFrame(B, A));
    a.wake();
    expect(dp.rxModeration!.active).toBe(true);
    dp.stop();
    expect(dp.rxModeration!.active).toBe(false);
    b.inject(udpFrame(A, B));
    await turns(5);
    expect(a.sent).toHaveLength(0);
  });

  it('adaptive: opens windows only once wakeups come close together', async () => {
    const { dp, a, b, clock } = setUp({ adaptive: true });
    a.inject(udpFrame(B, A));
    a.wake();
    expect(dp.rxModeration!.active).toBe(false);
    clock.advanceUs(30);
    b.inject(udpFrame(A, B));
    b.wake();
    expect(dp.rxModeration!.active).toBe(true);
    expect(dp.rxModeration!.usecs).toBeGreaterThanOrEqual(30);
    a.inject(udpFrame(B, A));
    await turns(2);
    expect(b.sent).toHaveLength(2); // taken by the window
    clock.advanceUs(1000);
    await turns(2);
    expect(dp.rxModeration!.active).toBe(false);
    dp.stop();
  });
});

describe('rx-usecs and adaptive-rx settings', () => {
  const tmp = tempConfigDir('rxmod');
  const file = (text: string): string => tmp.file('c.yaml', text);

  it('default to adaptive (up to the default ceiling); take flags and config-file keys, flags winning', () => {
    expect(resolveConfig({})).toMatchObject({ rxUsecs: 0, adaptiveRx: true });
    expect(resolveConfig({ rxUsecs: '50' })).toMatchObject({ rxUsecs: 50, adaptiveRx: false });
    expect(resolveConfig({ adaptiveRx: true })).toMatchObject({ rxUsecs: 0, adaptiveRx: true });
    const yaml = loadConfigFile(file('ports: [tap:a]\nrx-usecs: 20\nadaptive-rx: true\n'));
    expect(resolveConfig({}, yaml)).toMatchObject({ rxUsecs: 20, adaptiveRx: true });
    expect(resolveConfig({ rxUsecs: '0' }, yaml)).toMatchObject({ rxUsecs: 0, adaptiveRx: true });
  });

  it('refuses bad values with one sentence naming the key', () => {
    expect(configError(() => resolveConfig({ rxUsecs: 'soon' }))).toBe('option --rx-usecs: "soon" is not a whole number');
    expect(configError(() => resolveConfig({ rxUsecs: '10001' }))).toMatch(/^option rx-usecs: .*must be at most 10000 \(for more, use busy-poll\)$/);
    expect(configError(() => loadConfigFile(file('rx-usecs: -3\n')))).toMatch(/c\.yaml: rx-usecs: .*must not be negative/);
    expect(configError(() => loadConfigFile(file('rx-usecs: 2.5\n')))).toMatch(/c\.yaml: rx-usecs: .*must be a whole number of microseconds/);
    expect(configError(() => loadConfigFile(file('adaptive-rx: sometimes\n')))).toMatch(/c\.yaml: adaptive-rx: /);
    expect(configError(() => resolveConfig({ busyPoll: true, adaptiveRx: true }))).toMatch(/^busy-poll polls all the time/);
    expect(configError(() => resolveConfig({ busyPoll: true, rxUsecs: '50' }))).toMatch(/^busy-poll polls all the time/);
  });
});
