/*
 * The datapath's port table (Datapath extends it): its ports in a dense list
 * (hot-path iteration) and by OpenFlow number, the listeners told when ports
 * come and go, and link state.
 *
 * Ports come and go while the switch runs (Datapath.addPort/removePort,
 * between rounds); the port listeners hear of each at once (the OpenFlow side
 * sends port-status from there). Link state has one owner, here: a port's
 * `link` is what the datapath last read, and the link listeners hear of every
 * change. With kernel link notifications attached (watchLinks), a port whose
 * interface is in this namespace is re-read when the kernel announces a
 * change of its name or ifindex (and re-bound first when it was re-created);
 * a notification from another namespace re-reads the ports living elsewhere
 * (TAPs moved there); the tick's poll still reads those (the kernel tells
 * only of namespaces with an id here, and only with CAP_NET_BROADCAST) and
 * in-process ports, or every port without notifications.
 *
 * Invariants
 * - portList[i].index === i is kept by the Datapath that adds and removes
 *   ports; byNo holds the same ports by OpenFlow number.
 * - Link listeners are told only of a change (sameLink), after `link` was
 *   updated. Everything here is slow path.
 */

import type { LinkEvent, LinkEventsListener } from '../ports/link-events.js';
import type { LinkInfo, Port } from '../ports/port.js';

/** What the table needs of a port entry (Datapath's DpPort). */
export interface TabledPort {
  readonly port: Port;
  link: LinkInfo;
}

const LINK_UNKNOWN: LinkInfo = { adminUp: false, carrier: false, mtu: 0, mac: 0, ifindex: 0 };

/**
 * A notification may speak of this port: of this namespace, naming its
 * interface or the ifindex it last had; of another namespace (where TAPs
 * were moved), any port no notification of ours names (watchName null).
 */
function concerns(e: LinkEvent, dp: TabledPort): boolean {
  const here = dp.port.watchName();
  if (e.nsid !== null) return here === null;
  return (e.name !== '' && e.name === here) || (e.ifindex !== 0 && e.ifindex === dp.link.ifindex);
}

/** A port's link state; a port that cannot say (its device gone) reads as down. */
export function readLink(port: Port): LinkInfo {
  try {
    return port.link();
  } catch {
    return LINK_UNKNOWN;
  }
}

function sameLink(a: LinkInfo, b: LinkInfo): boolean {
  return a.adminUp === b.adminUp && a.carrier === b.carrier && a.mac === b.mac && a.mtu === b.mtu && a.ifindex === b.ifindex && a.presence === b.presence;
}

/** Told of a port whose link state changed (up/down, carrier, MAC, MTU, ifindex or where its interface is). */
export type LinkListener<P> = (dp: P, link: LinkInfo) => void;

/** Told of a port that joined or left the datapath (after the fact). */
export type PortListener<P> = (dp: P) => void;

/** A source of kernel link notifications (src/ports/link-events.ts LinkMonitor). */
export interface LinkWatch {
  start(listener: LinkEventsListener): void;
  close(): void;
}
/** Ports by number and in order, their add/remove listeners, and their link state (see the header). */
export class PortTable<P extends TabledPort> {
  private readonly linkListeners: LinkListener<P>[] = [];
  protected readonly addedListeners: PortListener<P>[] = [];
  protected readonly removedListeners: PortListener<P>[] = [];
  protected linkWatch: LinkWatch | null = null;
  /** Ports in a dense array (hot-path iteration) and by OpenFlow number. */
  readonly portList: P[] = [];
  protected readonly byNo = new Map<number, P>();

  /** `fn` hears of every port added from now on, right after addPort. */
  onPortAdded(fn: PortListener<P>): void {
    this.addedListeners.push(fn);
  }

  /** `fn` hears of every port removed from now on, right after removePort. */
  onPortRemoved(fn: PortListener<P>): void {
    this.removedListeners.push(fn);
  }

  port(ofPort: number): P | undefined {
    return this.byNo.get(ofPort);
  }

  /** `fn` hears of every link change the datapath sees (kernel notifications or the tick's poll). */
  onLinkChange(fn: LinkListener<P>): void {
    this.linkListeners.push(fn);
  }

  /**
   * Take link changes from kernel notifications from now on (the datapath
   * owns `watch` and closes it in stop()). Ports it cannot speak of stay polled.
   */
  watchLinks(watch: LinkWatch): void {
    this.linkWatch?.close();
    this.linkWatch = watch;
    watch.start((events) => this.linkEvents(events));
  }

  /** Kernel notifications arrive for these ports (watchLinks is on). */
  get watchingLinks(): boolean {
    return this.linkWatch !== null;
  }

  /**
   * A batch of kernel link notifications: re-read (and first re-bind) every
   * port whose interface name or last ifindex one of them names; `null`
   * (notifications were lost): every port. Slow path.
   */
  linkEvents(events: readonly LinkEvent[] | null): void {
    for (const dp of [...this.portList]) {
      if (events === null || events.some((e) => concerns(e, dp))) this.refreshLink(dp);
    }
  }

  /**
   * Reads link state once and tells the listeners about the ports whose
   * state changed: with kernel notifications (watchLinks), only the ports
   * they cannot announce; without, every port. Slow path.
   */
  pollLinks(): void {
    const watching = this.linkWatch !== null;
    for (const dp of [...this.portList]) {
      if (!watching || dp.port.watchName() === null) this.refreshLink(dp);
    }
  }

  /** Re-bind the port if its interface was re-created, read its link, tell the listeners if it changed. */
  refreshLink(dp: P): void {
    dp.port.rebind?.();
    const link = readLink(dp.port);
    if (sameLink(link, dp.link)) return;
    dp.link = link;
    for (const fn of this.linkListeners) fn(dp, link);
  }

}
