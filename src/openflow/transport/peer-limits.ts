/*
 * Limits on OpenFlow peers: what keeps a slow, silent or flooding peer from
 * holding the switch's connections, memory or log.
 *
 * - Handshake deadline: a connection whose peer has not sent a valid hello
 *   within `handshakeTimeoutMs` is closed (partial bytes are no proof of
 *   life). After the handshake, liveness is whole messages (as OVS's rconn:
 *   its last_activity moves when vconn_recv returns a complete message).
 * - Connection cap: at most `maxConnectionsPerListener` connections at once
 *   on each listener; the next ones are closed at accept and counted.
 *   OVS has no such cap; 64 is far above what one switch normally serves
 *   (a few controllers and the odd ovs-ofctl session) and far below the
 *   usual 1024-descriptor limit, so a connection flood cannot take the
 *   descriptors the ports and the admin socket need.
 * - Packet-in rate limit (OVS's controller_rate_limit and
 *   controller_burst_limit): a token bucket per connection; OVS's default
 *   burst is a quarter of the rate, at least 1. OVS queues packets over the
 *   rate per in-port; here they are dropped and counted (reason "rate").
 *
 * Invariants
 * - A TokenBucket never holds more than `burst` tokens nor fewer than 0;
 *   take() is O(1) and allocates nothing.
 * - BurstLog logs the first event of a burst at once and the rest of the
 *   burst as one summary line when it ends: at most two lines per window.
 */

/** How long a peer has to complete the hello exchange (OVS's default probe interval). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
/** Connections each listener accepts at once (see above for why 64). */
export const DEFAULT_MAX_CONNECTIONS_PER_LISTENER = 64;
/** How long a burst of refusals or handshake timeouts lasts for logging: its first line, then one summary. */
export const BURST_LOG_WINDOW_MS = 10_000;
/** The start of the reason a connection that missed the handshake deadline closes with. */
export const HANDSHAKE_TIMEOUT_REASON = 'handshake timed out';

/** The limits the controller manager applies to every connection. */
export interface PeerLimits {
  /** Close a connection whose peer has not completed the hello exchange in this time. */
  handshakeTimeoutMs: number;
  /** Connections each listener keeps at once; more are refused. */
  maxConnectionsPerListener: number;
  /** Packet-ins per second per connection; 0: no limit. */
  controllerRateLimit: number;
  /** Packet-ins a connection may send at once after a quiet time; 0: a quarter of the rate. */
  controllerBurstLimit: number;
}

export const DEFAULT_PEER_LIMITS: Readonly<PeerLimits> = {
  handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
  maxConnectionsPerListener: DEFAULT_MAX_CONNECTIONS_PER_LISTENER,
  controllerRateLimit: 0,
  controllerBurstLimit: 0,
};

/** OVS's default burst: a quarter of the rate, at least 1. */
export function defaultBurstLimit(rate: number): number {
  return Math.max(1, Math.floor(rate / 4));
}

/** Packet-ins not sent on the connections of one target (a controller, or all connections of a listener). */
export interface PacketInDrops {
  /** The connection had more than ASYNC_TX_LIMIT bytes unsent (the peer is not reading). */
  queue: number;
  /** Over the rate limit. */
  rate: number;
}

/** A token bucket of `burst` tokens refilled at `ratePerSec`; starts full. */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.lastMs = nowMs();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = this.nowMs();
    const elapsed = now - this.lastMs;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSec) / 1000);
      this.lastMs = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Logs a burst of like events (refused connections, handshake timeouts) as
 * its first event, at once, and one summary of the others when `windowMs`
 * has passed since the first.
 */
export class BurstLog {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private more = 0;

  constructor(
    private readonly windowMs: number,
    private readonly first: () => void,
    private readonly summary: (more: number) => void,
  ) {}

  hit(): void {
    if (this.timer !== null) {
      this.more++;
      return;
    }
    this.first();
    this.more = 0;
    this.timer = setTimeout(this.end, this.windowMs);
    this.timer.unref?.();
  }

  /** Ends the current burst now (its summary logged if it has one). */
  close(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.end();
    }
  }

  private readonly end = (): void => {
    this.timer = null;
    if (this.more > 0) this.summary(this.more);
    this.more = 0;
  };
}
