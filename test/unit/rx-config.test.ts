/*
 * Receive moderation settings (config.ts resolveRxModeration): adaptive by
 * default (rx-usecs 0 with adaptive: the default ceiling), rx-usecs alone a
 * fixed window, adaptive-rx false or rx-usecs 0 alone the old sleep-at-once
 * mode, busy-poll without a window; busy-poll with a window is refused with
 * one sentence, from flags and from a YAML file alike. The datapath gets
 * what the default means (a window that adapts up to 100 us).
 */

import { describe, expect, it } from 'vitest';
import { loadConfigFile, resolveConfig } from '../../src/config.js';
import { ADAPTIVE_RX_DEFAULT_MAX_USECS, RxModeration } from '../../src/datapath/rx-moderation.js';
import { configError, tempConfigDir } from '../helpers/config-files.js';

const { file } = tempConfigDir('rxcfg');

const rx = (c: { busyPoll: boolean; rxUsecs: number; adaptiveRx: boolean }) => ({ busyPoll: c.busyPoll, rxUsecs: c.rxUsecs, adaptiveRx: c.adaptiveRx });

const BUSY_POLL_WINDOW = 'busy-poll polls all the time: rx-usecs and adaptive-rx (a polling window after each wakeup) do not go with it';

describe('receive moderation settings', () => {
  it('are adaptive up to the default ceiling when nothing is given', () => {
    const c = resolveConfig({});
    expect(rx(c)).toEqual({ busyPoll: false, rxUsecs: 0, adaptiveRx: true });
    const m = new RxModeration({ rxUsecs: c.rxUsecs, adaptive: c.adaptiveRx });
    expect(m.enabled).toBe(true);
    expect(m.maxUsecs).toBe(ADAPTIVE_RX_DEFAULT_MAX_USECS);
  });

  it('take rx-usecs alone as a fixed window, and 0 as none (sleep at once)', () => {
    expect(rx(resolveConfig({ rxUsecs: '50' }))).toEqual({ busyPoll: false, rxUsecs: 50, adaptiveRx: false });
    expect(rx(resolveConfig({ rxUsecs: '0' }))).toEqual({ busyPoll: false, rxUsecs: 0, adaptiveRx: false });
  });

  it('turn adaptation off with --no-adaptive-rx, keeping a fixed rx-usecs window if one is given', () => {
    expect(rx(resolveConfig({ adaptiveRx: false }))).toEqual({ busyPoll: false, rxUsecs: 0, adaptiveRx: false });
    expect(rx(resolveConfig({ adaptiveRx: false, rxUsecs: '30' }))).toEqual({ busyPoll: false, rxUsecs: 30, adaptiveRx: false });
  });

  it('take rx-usecs with adaptive-rx as the ceiling', () => {
    expect(rx(resolveConfig({ adaptiveRx: true, rxUsecs: '40' }))).toEqual({ busyPoll: false, rxUsecs: 40, adaptiveRx: true });
    expect(rx(resolveConfig({ adaptiveRx: true, rxUsecs: '0' }))).toEqual({ busyPoll: false, rxUsecs: 0, adaptiveRx: true });
    expect(new RxModeration({ rxUsecs: 0, adaptive: true }).maxUsecs).toBe(ADAPTIVE_RX_DEFAULT_MAX_USECS);
  });

  it('have no window with busy-poll, which goes with an explicit "no window" but refuses one', () => {
    expect(rx(resolveConfig({ busyPoll: true }))).toEqual({ busyPoll: true, rxUsecs: 0, adaptiveRx: false });
    const busy = resolveConfig({ busyPoll: true });
    expect(new RxModeration({ rxUsecs: busy.rxUsecs, adaptive: busy.adaptiveRx }).enabled).toBe(false);
    expect(rx(resolveConfig({ busyPoll: true, adaptiveRx: false }))).toEqual({ busyPoll: true, rxUsecs: 0, adaptiveRx: false });
    expect(rx(resolveConfig({ busyPoll: true, rxUsecs: '0' }))).toEqual({ busyPoll: true, rxUsecs: 0, adaptiveRx: false });
    expect(configError(() => resolveConfig({ busyPoll: true, adaptiveRx: true }))).toBe(BUSY_POLL_WINDOW);
    expect(configError(() => resolveConfig({ busyPoll: true, rxUsecs: '20' }))).toBe(BUSY_POLL_WINDOW);
  });

  it('come from YAML the same way, flags and file combined', () => {
    expect(rx(resolveConfig({}, loadConfigFile(file('off.yaml', 'adaptive-rx: false\n'))))).toEqual({ busyPoll: false, rxUsecs: 0, adaptiveRx: false });
    expect(rx(resolveConfig({}, loadConfigFile(file('fixed.yaml', 'rx-usecs: 25\n'))))).toEqual({ busyPoll: false, rxUsecs: 25, adaptiveRx: false });
    expect(rx(resolveConfig({ adaptiveRx: true }, loadConfigFile(file('ceiling.yaml', 'rx-usecs: 60\n'))))).toEqual({ busyPoll: false, rxUsecs: 60, adaptiveRx: true });
    expect(rx(resolveConfig({}, loadConfigFile(file('busy.yaml', 'busy-poll: true\n'))))).toEqual({ busyPoll: true, rxUsecs: 0, adaptiveRx: false });
    expect(configError(() => resolveConfig({ adaptiveRx: true }, loadConfigFile(file('busy2.yaml', 'busy-poll: true\n'))))).toBe(BUSY_POLL_WINDOW);
    expect(rx(resolveConfig({ rxUsecs: '0' }, loadConfigFile(file('zero.yaml', 'rx-usecs: 40\n'))))).toEqual({ busyPoll: false, rxUsecs: 0, adaptiveRx: false });
    expect(rx(resolveConfig({ adaptiveRx: false }, loadConfigFile(file('on.yaml', 'adaptive-rx: true\n'))))).toEqual({ busyPoll: false, rxUsecs: 0, adaptiveRx: false });
  });
});
