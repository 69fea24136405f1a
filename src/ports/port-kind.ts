/*
 * What a kind of port declares about itself: one row of the registry
 * (src/ports/kinds.ts), written in its own file under src/ports/kinds/.
 *
 * A row says how the command line and config files name the kind (the spec
 * prefix `KIND:NAME[=OFPORT]`, the NAME check, the mapping form's keys as a
 * zod fragment), how to open one port of it, and what such a port can do.
 * Options every kind takes (the VLAN options after a comma) are config-ports.ts's;
 * a NAME never contains the separators ':', '=' or ','.
 * The face (config.ts, cli.ts, switch.ts) derives everything kind-specific
 * from these rows; nothing outside src/ports/kinds/ names a kind.
 *
 * Invariant: `kind` is the same string as the `kind` of the ports `open`
 * returns (the type parameter makes the compiler check it).
 */

import type { z } from 'zod';
import type { PacketPool } from '../packet/pool.js';
import type { Port } from './port.js';

/** One configured port: which kind, which device, which OpenFlow port number. */
export interface PortSpec {
  readonly kind: string;
  readonly name: string;
  readonly ofPort: number;
  /** The kind's own options (PortSpecSyntax.options), by name; absent ones take the kind's default. */
  readonly options?: Readonly<Record<string, string>>;
}

/** What the switch hands every open call. */
export interface PortOpenContext {
  readonly pool: PacketPool;
  /** Most frames per rxBurst/txBurst (at most MAX_BURST). */
  readonly burst: number;
  /** --offload: ask the kernel for checksum/TSO offloads where the kind can. */
  readonly offload: boolean;
  /** Where a port says, in one line, that it runs in a degraded way (e.g. a fallback); default: nowhere. */
  readonly notice?: (message: string) => void;
}

export interface PortCapabilities {
  /** Frames carry a virtio_net_hdr: partial checksums and GSO super-frames cross the port intact. */
  readonly vnetHdr: boolean;
  /** The port obeys --offload / --no-offload (asks the kernel for checksum/TSO offloads). */
  readonly offloadFlag: boolean;
  /** Where link() reads the link state: the device behind the port's own fd, the interface by name, or in-process state. */
  readonly linkState: 'device-fd' | 'interface-name' | 'in-process';
  /** Opening creates the device when it does not exist (and closing removes what it created). */
  readonly createsDevice: boolean;
  /** The device keeps forwarding after `ip link set DEV netns NS` moves it into another network namespace. */
  readonly netnsMovable: boolean;
  /**
   * A port whose interface does not exist is kept (link down) and binds to
   * the interface when one of its name appears, also after the interface is
   * deleted and re-created (a VM's vif across a reboot).
   */
  readonly waitsForInterface: boolean;
  /** One switch per device: the switch takes the interface lock (src/ports/interface-lock.ts) before opening it. */
  readonly exclusive: boolean;
}

/** How `--port` and config files name a kind. */
export interface PortSpecSyntax {
  /** --help words after `KIND:NAME[=OFPORT]`, e.g. 'TAP, created if missing'. */
  readonly help: string;
  /** The NAME of a spec string: null when acceptable, else the sentence saying why not. */
  checkName(name: string): string | null;
  /** The mapping form's keys besides `type` and the ones every kind takes (`ofport`, `vlan`, `trunks`: config-ports.ts), as a zod fragment in the order they are checked. */
  readonly fields: { readonly name: z.ZodType<string> };
  /**
   * The kind's own options, `KEY=VALUE` after a spec's comma or `KEY: VALUE`
   * in the mapping form, each declared once here: the values it takes (the
   * first is listed first in messages) and its --help words.
   */
  readonly options?: Readonly<Record<string, PortOptionSyntax>>;
}

/** One option of a kind: a word out of a fixed list. */
export interface PortOptionSyntax {
  readonly values: readonly [string, ...string[]];
  readonly help: string;
}

export interface PortKind<P extends Port = Port> {
  /** Registry key, Port.kind, the spec prefix (`tap` in `tap:tap0`) and the mapping form's `type`. */
  readonly kind: P['kind'];
  readonly capabilities: PortCapabilities;
  /** null: only code creates ports of this kind (tests, benchmarks); --port and config files do not offer it. */
  readonly spec: PortSpecSyntax | null;
  /** Open one port; throws a PortOpenError naming the port when it cannot (src/ports/kinds.ts openPort catches). */
  open(spec: PortSpec, ctx: PortOpenContext): P;
}
