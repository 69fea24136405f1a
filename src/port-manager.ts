/*
 * PortManager: the configured ports of a running switch. It opens them at
 * start-up (all or nothing), adds and removes ports while the switch runs
 * (`linc-ts port add/del`, the admin routes in port-routes.ts, a SIGHUP
 * reload of the config file), and describes them (`port list`): number,
 * name, kind, state and, when a port is not up, why.
 *
 * A port is specified as --port and config files do (KIND:NAME[=OFPORT],
 * parsed by config-ports.ts from the port-kind registry); without a number it
 * gets the lowest free one. Opening goes through the registry (switch.ts
 * hands over `open`); kinds marked `exclusive` take the interface lock first
 * (src/ports/interface-lock.ts), so a second switch on the same interface is
 * refused with one sentence naming the holder.
 *
 * Invariants
 * - A refused request (bad spec, name or number in use, interface locked,
 *   open failure) changes nothing and is one PortRefusal sentence; nothing
 *   here throws anything else for bad input.
 * - Every managed port is in the datapath, from add to remove; adding and
 *   removing happen between datapath rounds (event-loop callbacks), so the
 *   other ports' traffic never sees a half-added port. The datapath's port
 *   listeners send port-status to controllers.
 * - A removed port is closed and its lock released; flows naming it stay.
 *   While the switch runs, the close (a TAP's unregistration, a packet
 *   socket's RCU wait: milliseconds each) happens on a worker thread and the
 *   lock is released after it; adding a port of that name meanwhile is
 *   refused (its device still exists), except in a reload, which closes a
 *   changed port at once before opening it again.
 * - Slow path only.
 */

import type { PortConfig } from './config.js';
import { ConfigError } from './config-errors.js';
import { kindOptionsText, parsePortSpec } from './config-ports.js';
import type { Datapath, DpPort } from './datapath/datapath.js';
import { PORT_LOCAL } from './datapath/rules/rule.js';
import { findPortKind } from './ports/kinds.js';
import { InterfaceLockError, type InterfaceLock } from './ports/interface-lock.js';
import { PortOpenError } from './ports/open-errors.js';
import type { PortSpec } from './ports/port-kind.js';
import type { LinkInfo, Port } from './ports/port.js';
import type { Logger } from './stats/log.js';

/** Highest physical port number in OpenFlow 1.3 (OFPP_MAX). */
const OFPP_MAX = 0xffffff00;

/** A port as `port list` shows it. */
export interface PortView {
  port: number;
  name: string;
  kind: string;
  /** KIND:NAME=OFPORT */
  spec: string;
  /** up: the interface is up with carrier and the port forwards. */
  state: 'up' | 'down';
  /** Why it is down (or where it is when that is unusual); null when there is nothing to say. */
  why: string | null;
  ifindex: number;
  mac: string;
  mtu: number;
}

/** A port request refused; `status` is the admin endpoint's answer (400 bad input, 404 no such port, 409 in use or cannot open). */
export class PortRefusal extends Error {
  readonly code = 'LINC_ERR_PORT';
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
  ) {
    super(message);
    this.name = 'PortRefusal';
  }
}

/** What a reload did: specs added, removed, changed (removed and added again), and the ones that failed with why. */
export interface PortReload {
  added: string[];
  removed: string[];
  changed: string[];
  failed: Array<{ spec: string; error: string }>;
}

export interface PortManagerOptions {
  datapath: Datapath;
  log: Logger;
  /** Open one port (the registry's openPort with the switch's pool, burst and offload setting). */
  open(spec: PortSpec): Port | PortOpenError;
  /** Take the lock of an interface (kinds marked exclusive); null: no locks. Throws InterfaceLockError. */
  lock: ((interfaceName: string) => InterfaceLock) | null;
  /** A port left the switch (before it is closed): llstat freezes its window. */
  onRemoved?: (dp: DpPort) => void;
  /** A port joined the switch: the learning switch takes its VLAN membership. */
  onAttached?: (dp: DpPort, spec: ManagedSpec) => void;
}

/** A port as configured: kind, name, number, and its VLAN options (vlan= / trunks=). */
export interface ManagedSpec extends PortSpec {
  readonly vlan?: number;
  readonly trunks?: readonly number[];
}

interface Managed {
  readonly spec: ManagedSpec;
  readonly dp: DpPort;
  readonly lock: InterfaceLock | null;
}

/** KIND:NAME=OFPORT[,vlan=ID|,trunks=ID,...] (LOCAL for the local port). */
function specText(s: ManagedSpec): string {
  const vlan = s.vlan !== undefined ? `,vlan=${s.vlan}` : s.trunks !== undefined ? `,trunks=${s.trunks.join(',')}` : '';
  return `${s.kind}:${s.name}=${s.ofPort === PORT_LOCAL ? 'LOCAL' : s.ofPort}${vlan}${kindOptionsText(s.options)}`;
}

function sameVlans(a: ManagedSpec, b: ManagedSpec): boolean {
  return a.vlan === b.vlan && (a.trunks ?? []).join(',') === (b.trunks ?? []).join(',');
}

function macText(mac: number): string {
  return (mac.toString(16).padStart(12, '0').match(/../g) ?? []).join(':');
}

/** Why a port is not up, or where it is when it is up somewhere unusual; null when there is nothing to say. */
function whyOf(dp: DpPort, link: LinkInfo): string | null {
  const name = dp.port.name;
  switch (link.presence) {
    case 'missing':
      return dp.port.lastBindError ?? `waiting for interface ${name}`;
    case 'gone':
      return `the device ${name} was deleted`;
    case 'unseen':
      return 'in another network namespace (its state there cannot be read; up while the switch holds it)';
    case 'elsewhere':
      if (!link.adminUp) return 'set down in its network namespace';
      if (!link.carrier) return 'no carrier (in another network namespace)';
      break;
    default:
      if (!link.adminUp) return 'interface is down';
      if (!link.carrier) return 'no carrier';
  }
  if (!dp.forwarding) return 'disabled by a controller (port-mod PORT_DOWN)';
  return link.presence === 'elsewhere' ? 'in another network namespace' : null;
}

export class PortManager {
  private readonly datapath: Datapath;
  private readonly log: Logger;
  private readonly opts: PortManagerOptions;
  /** By OpenFlow port number, in the order they were added. */
  private readonly ports = new Map<number, Managed>();
  /** Removed ports whose device is still being closed (off the event loop), by name, with the lock they still hold. */
  private readonly closing = new Map<string, InterfaceLock | null>();

  constructor(opts: PortManagerOptions) {
    this.datapath = opts.datapath;
    this.log = opts.log;
    this.opts = opts;
  }

  /** Start-up: open every port, or none (what was opened is closed again) and throw the first refusal. */
  openAll(specs: readonly PortConfig[]): void {
    const opened: Array<{ spec: ManagedSpec; port: Port; lock: InterfaceLock | null }> = [];
    try {
      for (const spec of specs) opened.push({ spec, ...this.open(spec) });
    } catch (e) {
      for (const o of opened) this.discard(o.port, o.lock);
      throw e;
    }
    for (const o of opened) this.attach(o.spec, o.port, o.lock);
  }

  /** Add a port given as a spec string (KIND:NAME[=OFPORT]) or a parsed spec; a free number when none is given. */
  add(input: string | { kind: string; name: string; ofPort?: number; vlan?: number; trunks?: readonly number[]; options?: Readonly<Record<string, string>> }): PortView {
    let wanted: { kind: string; name: string; ofPort?: number; vlan?: number; trunks?: readonly number[]; options?: Readonly<Record<string, string>> };
    try {
      wanted = typeof input === 'string' ? parsePortSpec(input) : input;
    } catch (e) {
      if (e instanceof ConfigError) throw new PortRefusal(e.message, 400);
      throw e;
    }
    const sameName = this.byName(wanted.name);
    if (sameName !== undefined) throw new PortRefusal(`port ${wanted.name} already exists (${specText(sameName.spec)})`, 409);
    if (this.closing.has(wanted.name)) {
      throw new PortRefusal(`port ${wanted.name} was just removed and its device is still being closed; add it again in a moment`, 409);
    }
    let ofPort = wanted.ofPort;
    if (ofPort !== undefined) {
      const taken = this.ports.get(ofPort);
      if (taken !== undefined) throw new PortRefusal(`OpenFlow port number ${ofPort} is already used by ${taken.spec.name} (${specText(taken.spec)})`, 409);
    } else {
      ofPort = this.freeNumber();
    }
    const spec: ManagedSpec = { kind: wanted.kind, name: wanted.name, ofPort, vlan: wanted.vlan, trunks: wanted.trunks, options: wanted.options };
    let opened;
    try {
      opened = this.open(spec);
    } catch (e) {
      if (e instanceof PortOpenError) throw new PortRefusal(e.message, 409);
      throw e;
    }
    return this.view(this.attach(spec, opened.port, opened.lock));
  }

  /** Remove the port of that name or OpenFlow number; its flows stay (their output to it drops, counted). */
  remove(which: string | number): PortView {
    const m = this.find(which);
    const view = this.view(m);
    this.detach(m);
    return view;
  }

  /** Every port, by OpenFlow number. */
  list(): PortView[] {
    return [...this.ports.values()].sort((a, b) => a.spec.ofPort - b.spec.ofPort).map((m) => this.view(m));
  }

  /** The configured ports, as specs. */
  specs(): PortSpec[] {
    return [...this.ports.values()].map((m) => m.spec);
  }

  /**
   * Make the ports those of `specs` (a reloaded config file): remove the ones
   * not listed, add the new ones, and remove then add again the ones whose
   * kind or number changed (by name). Refusals are reported, not thrown; the
   * ports that could be changed are.
   */
  reload(specs: readonly PortConfig[]): PortReload {
    const out: PortReload = { added: [], removed: [], changed: [], failed: [] };
    const next = new Map(specs.map((s) => [s.name, s]));
    const changed: PortConfig[] = [];
    for (const m of [...this.ports.values()]) {
      const want = next.get(m.spec.name);
      if (want === undefined) {
        this.detach(m);
        out.removed.push(specText(m.spec));
      } else if (want.kind !== m.spec.kind || want.ofPort !== m.spec.ofPort || !sameVlans(want, m.spec)) {
        this.detach(m, true); // closed before it is opened again under the same name
        changed.push(want);
      }
    }
    const known = new Set([...this.ports.values()].map((m) => m.spec.name));
    for (const s of specs) {
      if (known.has(s.name)) continue;
      try {
        this.add(s);
        (changed.includes(s) ? out.changed : out.added).push(specText(s));
      } catch (e) {
        if (!(e instanceof PortRefusal)) throw e;
        out.failed.push({ spec: specText(s), error: e.message });
      }
    }
    return out;
  }

  /** Remove every port and close it now (switch shutdown); locks still waiting for a device are released. */
  closeAll(): void {
    for (const m of [...this.ports.values()]) this.detach(m, true);
    for (const lock of this.closing.values()) lock?.release();
    this.closing.clear();
  }

  /** Lock (when the kind is exclusive) and open one port; throws the PortOpenError naming it (a lock refusal too). */
  private open(spec: PortSpec): { port: Port; lock: InterfaceLock | null } {
    const exclusive = findPortKind(spec.kind)?.capabilities.exclusive === true;
    let lock: InterfaceLock | null = null;
    try {
      if (exclusive && this.opts.lock !== null) lock = this.opts.lock(spec.name);
    } catch (e) {
      if (e instanceof InterfaceLockError) throw new PortOpenError(`cannot open port ${spec.kind}:${spec.name}: ${e.message}`, 'EBUSY', 16, 'lock', spec.name);
      throw e;
    }
    const port = this.opts.open(spec);
    if (port instanceof PortOpenError) {
      lock?.release();
      throw port;
    }
    return { port, lock };
  }

  private attach(spec: ManagedSpec, port: Port, lock: InterfaceLock | null): Managed {
    const dp = this.datapath.addPort(port);
    this.opts.onAttached?.(dp, spec);
    const m: Managed = { spec, dp, lock };
    this.ports.set(spec.ofPort, m);
    const link = dp.link;
    this.log.info(
      { port: spec.ofPort, spec: specText(spec), ifname: port.name, kind: port.kind, mtu: link.mtu, link: linkSummary(link), offload: port.vnetHdr, ...(link.presence ? { presence: link.presence } : {}), ...(dp.vlan ? { vlan: dp.vlan.toString() } : {}) },
      'port added',
    );
    return m;
  }

  /**
   * Take a port out of the switch. Running: its device is closed off the
   * event loop (the other ports keep forwarding) and its lock is released
   * once it is; at shutdown (`now`) both happen before this returns.
   */
  private detach(m: Managed, now = false): void {
    this.ports.delete(m.spec.ofPort);
    this.datapath.removePort(m.spec.ofPort);
    this.opts.onRemoved?.(m.dp);
    const port = m.dp.port;
    if (now || port.closeOffThread === undefined) {
      this.discard(port, m.lock);
    } else {
      const name = m.spec.name;
      this.closing.set(name, m.lock);
      void port.closeOffThread().then(() => {
        if (!this.closing.has(name)) return; // released by closeAll meanwhile
        this.closing.delete(name);
        m.lock?.release();
      });
    }
    this.log.info({ port: m.spec.ofPort, ifname: port.name, stats: m.dp.counters.toJSON() }, 'port removed');
  }

  private discard(port: Port, lock: InterfaceLock | null): void {
    port.close();
    lock?.release();
  }

  private byName(name: string): Managed | undefined {
    for (const m of this.ports.values()) if (m.spec.name === name) return m;
    return undefined;
  }

  private find(which: string | number): Managed {
    const text = String(which).trim();
    const m = /^\d+$/.test(text) ? this.ports.get(Number(text)) : this.byName(text);
    if (m !== undefined) return m;
    const known = this.list().map((v) => `${v.port} ${v.name}`).join(', ') || 'none';
    throw new PortRefusal(`no port ${/^\d+$/.test(text) ? text : `named ${text}`} (ports: ${known})`, 404);
  }

  private freeNumber(): number {
    let n = 1;
    while (this.ports.has(n) || this.datapath.port(n) !== undefined) n++;
    if (n > OFPP_MAX) throw new PortRefusal('no free OpenFlow port number', 409);
    return n;
  }

  private view(m: Managed): PortView {
    const dp = m.dp;
    const link = dp.link;
    const up = link.adminUp && link.carrier && dp.forwarding;
    return {
      port: m.spec.ofPort,
      name: m.spec.name,
      kind: m.spec.kind,
      spec: specText(m.spec),
      state: up ? 'up' : 'down',
      why: whyOf(dp, link),
      ifindex: link.ifindex,
      mac: macText(link.mac),
      mtu: link.mtu,
    };
  }
}

/** up/carrier as the log shows a link. */
export function linkSummary(l: LinkInfo): string {
  return `${l.adminUp ? 'up' : 'down'}/${l.carrier ? 'carrier' : 'no-carrier'}`;
}
