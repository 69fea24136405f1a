/*
 * Kernel drops: frames the kernel dropped on their way to a port's fd
 * because the switch did not read fast enough. The datapath adds them to
 * the port's RxDropKernel counter (llstat `RX: drops: kernel N`, Prometheus
 * linc_port_rx_dropped_total{reason="kernel"}); this module owns what each
 * port kind reads and the arithmetic that turns the kernel's numbers into
 * "new drops since the last read".
 *
 * AF_PACKET (`if:` ports): getsockopt(PACKET_STATISTICS). tp_drops counts
 * the frames packet_rcv() could not queue on our socket (receive buffer
 * full, or no memory for the copy); the kernel zeroes it on every read, so
 * every read is a delta. What it cannot see: frames lost before they reach
 * the socket (the sending host's own queues, the per-CPU backlog of
 * netif_rx, counted in the interface's rx_dropped and /proc/net/softnet_stat)
 * and frames a socket filter refused.
 *
 * TAP (`tap:` ports): the TAP netdev's tx_dropped (/proc/net/dev in the
 * TAP's namespace, as the addon reads it). tun_net_xmit counts there every
 * frame it could not put on the queue to our fd (ring of txqueuelen frames
 * full; also frames it refused for other reasons: no reader attached, a
 * filter, a copy that failed). The counter is cumulative: we keep the last
 * value and report the difference (a persistent TAP's count from before we
 * opened it is not ours: the first read is the baseline). What it cannot see:
 * frames a qdisc in front of the TAP dropped (`tc -s qdisc`), and frames the
 * sender lost before the TAP (its socket buffers). A TAP moved into a
 * namespace we may not join is read in ours, where it is not: no count.
 *
 * Invariants
 * - Slow path only (once per datapath tick, per llstat sample, per scrape).
 * - Counts never go down: a cumulative counter that went backwards (the
 *   device was re-created) restarts the baseline and counts nothing for it.
 */

/**
 * The tx drop column of interface `name` in /proc/net/dev text, or null when
 * the interface is not listed. Line format: `name: rx(bytes packets errs
 * drop fifo frame compressed multicast) tx(bytes packets errs drop fifo
 * colls carrier compressed)`.
 */
export function netDevTxDropped(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== name) continue;
    const cols = line.slice(colon + 1).trim().split(/\s+/);
    if (cols.length < 16) return null;
    const v = Number(cols[11]);
    return Number.isFinite(v) ? v : null;
  }
  return null;
}

/** New drops from a cumulative kernel counter: the difference to the last reading, which becomes `now`. */
export class CumulativeDrops {
  private last: number | null = null;

  /** Drops since the last reading; the first reading (or a counter that went backwards) only sets the baseline. */
  advance(now: number | null): number {
    if (now === null) return 0;
    const before = this.last;
    this.last = now;
    if (before === null || now < before) return 0;
    return now - before;
  }
}
