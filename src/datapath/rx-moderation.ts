/*
 * Receive moderation (the NIC's rx-usecs / adaptive interrupt coalescing,
 * turned around for a process that sleeps in epoll): after a wakeup that
 * found frames, the datapath keeps polling every port for a short window
 * before it goes back to sleep, so that frames arriving back to back are
 * taken without the wakeup latency of a sleeping process. This module owns
 * only the decision (when a window opens, when it ends, how long the next
 * one is); the datapath runs the polls (datapath.ts startWindow).
 *
 * Fixed (rx-usecs N): every wakeup that found frames opens a window of N us;
 * each poll that finds frames pushes its end to N us after that poll; it
 * ends after N us without frames. 0 is no window (sleep at once).
 *
 * Adaptive (adaptive-rx): the length moves between 0 and a ceiling (the
 * rx-usecs value when one is given, ADAPTIVE_RX_DEFAULT_MAX_USECS otherwise):
 * - from 0, a wakeup that comes within the ceiling of the previous wakeup
 *   (a window that long would have caught it without sleeping) sets it to
 *   that inter-arrival time with some margin;
 * - a window that found frames (in its polls, or through a port's own
 *   wakeup while it was open) doubles it (up to the ceiling);
 * - a window that has found nothing since the wakeup that opened it is
 *   waiting for an answer (request/response: the request woke the datapath,
 *   the answer comes back through another port): it waits
 *   ADAPTIVE_RX_ANSWER_WAIT times its length before it gives up, so that a
 *   late answer (a slow wakeup of the host that answers) is still taken in
 *   the window rather than after a sleep; once it has found frames it ends
 *   its length after the last one, as before;
 * - after ADAPTIVE_RX_EMPTY_STREAK windows in a row whose polls all came
 *   back empty, each further empty one halves it, to 0 under
 *   ADAPTIVE_RX_MIN_USECS. (Request/response traffic alternates useful and
 *   empty windows: one empty window must not undo what the useful ones
 *   learnt.)
 * - the tail (how long a window stays open after the last frame it found)
 *   is earned from traffic that keeps coming, like a NIC's adaptive
 *   coalescing at a low rate: a wakeup that comes more than the ceiling after
 *   a window that found frames closed (the traffic paused: the tail caught
 *   nothing and no tail would have) turns the tail off, and such windows
 *   then close as soon as a poll finds nothing; a wakeup that comes within
 *   the ceiling of any window's close (a tail would have caught it) turns
 *   it back on (the window's length).
 * So an idle port, or one that sees a frame now and then, costs nothing;
 * traffic that keeps coming keeps the datapath polling while it does.
 *
 * Why the tail: paced request/response (an exchange every ms) keeps the
 * wait for the answer (it saves the answer's wakeup: paced p50 130 against
 * 175 us without a window, 12-04) but spun a full window after each answer
 * for a next request that came 1 ms later. A spinning main thread is
 * preempted on its core by whatever wakes there (V8's GC/compiler threads,
 * pinned with it, and other processes): perf sched on a busy 2-core host
 * (12-04, 2,000 paced exchanges) counted 75 preemptions against 10 without
 * a window, 50 of them after the answer, some lasting past the next
 * request (a spinner has used its share, so it waits for the newcomer's
 * slice to end at a tick, up to 4 ms at HZ=250; a thread that slept
 * preempts at once). That is where the paced tail went on a busy day (p99
 * 970 against 411 us without a window). With a bursty load on the switch's
 * core (300 us busy, 1 ms asleep), closing at the answer took paced p50
 * from 167-287 to 137-149 us and p99 from 558-621 to 517-535 us; on a quiet
 * core the two are alike (the window's tail only costs when something else
 * wants the core).
 *
 * The switch runs adaptive by default (config.ts; a Datapath built without
 * options has no window). What that does per pattern:
 * - idle: no window ever opens (one needs a wakeup that found frames), so
 *   the process sleeps in epoll as without moderation;
 * - request/response (a frame, its answer tens of us later, then a pause):
 *   the answer's wakeup comes within the ceiling of the request's, the
 *   window grows to cover it, and from then on the request wakes the
 *   process and the window takes the answer: one wakeup per exchange
 *   instead of two (a sleeping core's wakeup is the dearest part of a
 *   round trip, most of all in a VM). After the first pause the tail is
 *   off: the window closes at the answer, so each exchange spins only
 *   while it waits for its answer;
 * - back to back or a flood: windows follow each other, the datapath polls
 *   without sleeping while frames come and gets no wakeups at all.
 * Off: --no-adaptive-rx (adaptive-rx: false) or --rx-usecs 0 alone (the old
 * default: sleep as soon as the ports are drained); --rx-usecs N alone is a
 * fixed window. --busy-poll never sleeps, so it has no window (asking for
 * one with it is refused).
 *
 * Invariants
 * - 0 <= usecs <= maxUsecs; with adaptive off, usecs never changes.
 * - At most one window is open at a time (wakeupFound returns true only
 *   when none was); polled() returning false closes it.
 * - Time comes from the injected clock (ms, performance.now's units).
 * - No allocation: a few numbers per wakeup.
 */

/** The largest rx-usecs accepted (10 ms: beyond that it is busy-poll). */
export const MAX_RX_USECS = 10_000;
/** The ceiling of the adaptive window when no rx-usecs is given. */
export const ADAPTIVE_RX_DEFAULT_MAX_USECS = 100;
/** An adaptive window shrunk below this is 0 (no window). */
export const ADAPTIVE_RX_MIN_USECS = 4;
/** Empty windows in a row before the adaptive window shrinks. */
export const ADAPTIVE_RX_EMPTY_STREAK = 4;
/** An adaptive window that has found nothing since its wakeup lasts this many times its length (the wait for an answer). */
export const ADAPTIVE_RX_ANSWER_WAIT = 2;
/** Margin over the inter-arrival time an adaptive window starts with. */
const ADAPTIVE_RX_MARGIN = 1.25;

export interface RxModerationOptions {
  /** Fixed window in us (0: none); with adaptive, the ceiling (0 or undefined: the default ceiling). */
  rxUsecs?: number;
  adaptive?: boolean;
}

export class RxModeration {
  readonly adaptive: boolean;
  readonly maxUsecs: number;
  /** The length of the next window, us. */
  usecs: number;
  /** A window is open (the datapath is polling). */
  active = false;
  /** Windows opened, and of those, windows whose polls found frames (cumulative; tests, benchmarks). */
  windows = 0;
  usefulWindows = 0;
  private deadlineMs = 0;
  private foundInWindow = 0;
  /** When the open window last found frames (a poll, or a port's own wakeup). */
  private lastFrameMs = 0;
  /** The open window has been lengthened to wait for an answer (once per window). */
  private answerWait = false;
  private emptyStreak = 0;
  private lastWakeupMs = -Infinity;
  /** Adaptive: a window stays open usecs after its last frame (on), or closes at the first empty poll after one (off). */
  tail = true;
  /** When the last window closed (whether it found frames: foundInWindow, kept until the next window opens). */
  private closedMs = -Infinity;

  constructor(
    opts: RxModerationOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    const rx = opts.rxUsecs ?? 0;
    if (!Number.isInteger(rx) || rx < 0 || rx > MAX_RX_USECS) throw new RangeError(`rx-usecs must be a whole number in 0..${MAX_RX_USECS}, got ${rx}`);
    this.adaptive = opts.adaptive ?? false;
    this.maxUsecs = this.adaptive ? (rx > 0 ? rx : ADAPTIVE_RX_DEFAULT_MAX_USECS) : rx;
    this.usecs = this.adaptive ? 0 : rx;
  }

  /** Moderation does something (a fixed window > 0, or adaptive). */
  get enabled(): boolean {
    return this.adaptive || this.maxUsecs > 0;
  }

  /**
   * A wakeup of a port's poll handle found frames. Returns true when the
   * caller must open a window (start polling); false when none is due or
   * one is open already (then it is extended).
   */
  wakeupFound(): boolean {
    const t = this.now();
    if (this.adaptive && !this.active) {
      // Judged once, by the first wakeup after a close: a window that found frames doubles the length, so this wakeup opens the next one.
      const sleptUs = (t - this.closedMs) * 1000;
      if (sleptUs <= this.maxUsecs) this.tail = true;
      else if (this.foundInWindow > 0) this.tail = false;
      const gapUs = (t - this.lastWakeupMs) * 1000;
      if (gapUs <= this.maxUsecs) {
        const want = Math.min(this.maxUsecs, Math.ceil(gapUs * ADAPTIVE_RX_MARGIN));
        if (want > this.usecs) this.usecs = want < ADAPTIVE_RX_MIN_USECS ? ADAPTIVE_RX_MIN_USECS : want;
      }
    }
    this.lastWakeupMs = t;
    if (this.usecs === 0) return false;
    if (this.active) {
      // Frames in the window that the port's own wakeup took before a poll pass did: found in the window all the same.
      this.foundInWindow += 1;
      this.lastFrameMs = t;
      const end = t + this.tailUsecs() / 1000;
      if (end > this.deadlineMs || !this.tail) this.deadlineMs = end;
      return false;
    }
    this.active = true;
    this.windows += 1;
    this.foundInWindow = 0;
    this.answerWait = false;
    this.deadlineMs = t + this.usecs / 1000;
    return true;
  }

  /**
   * One poll pass of the open window found `frames` over all ports.
   * Returns true to poll again, false when the window closed (then the
   * adaptive length has been updated).
   */
  polled(frames: number): boolean {
    const t = this.now();
    if (frames > 0) {
      this.foundInWindow += frames;
      this.lastFrameMs = t;
      this.deadlineMs = t + this.tailUsecs() / 1000;
      return true;
    }
    if (t < this.deadlineMs) return true;
    if (this.adaptive && this.foundInWindow === 0 && !this.answerWait) {
      // Still waiting for the answer to the frames that opened it: wait longer, once.
      this.answerWait = true;
      this.deadlineMs += ((ADAPTIVE_RX_ANSWER_WAIT - 1) * this.usecs) / 1000;
      if (t < this.deadlineMs) return true;
    }
    this.close();
    return false;
  }

  /** How long the open window stays open after a frame, us. */
  private tailUsecs(): number {
    return this.tail ? this.usecs : 0;
  }

  /** Close the open window (its time is up, or the datapath stopped) and adapt. */
  close(): void {
    if (!this.active) return;
    this.active = false;
    if (this.foundInWindow > 0) this.usefulWindows += 1;
    // The last frame of a wakeup counts as its time: the next wakeup's gap starts there.
    if (this.foundInWindow > 0) this.lastWakeupMs = this.lastFrameMs;
    this.closedMs = this.now();
    if (!this.adaptive) return;
    if (this.foundInWindow > 0) {
      this.emptyStreak = 0;
      this.usecs = Math.min(this.maxUsecs, this.usecs * 2);
    } else if (++this.emptyStreak >= ADAPTIVE_RX_EMPTY_STREAK) {
      const half = Math.floor(this.usecs / 2);
      this.usecs = half < ADAPTIVE_RX_MIN_USECS ? 0 : half;
    }
  }
}
