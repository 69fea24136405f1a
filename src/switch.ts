/*
 * Switch: builds a running switch from a validated SwitchConfig: the packet
 * pool, the datapath, its ports and the forwarding pipeline (the standalone
 * learning switch until an OpenFlow controller takes over), plus the
 * once-a-second housekeeping tick (MAC aging, link-state changes).
 *
 * Invariants
 * - If any port fails to open, the ones already opened are closed again and
 *   the error names the port; a half-built switch is never left running.
 * - close() is idempotent: stops polling, closes every fd (a TAP the switch
 *   created disappears with its fd), clears the tick.
 */

import { Datapath } from './datapath/datapath.js';
import { NormalSwitch } from './datapath/normal.js';
import { GSO_FRAME_CAPACITY, PacketPool, STANDARD_FRAME_CAPACITY } from './datapath/pool.js';
import type { PortConfig, SwitchConfig } from './config.js';
import { PortOpenError } from './ports/open-errors.js';
import { PacketPort } from './ports/packet-port.js';
import type { LinkInfo, Port } from './ports/port.js';
import { TapPort } from './ports/tap-port.js';
import type { Logger } from './stats/log.js';

export const TICK_MS = 1000;

export interface RunningSwitch {
  readonly config: SwitchConfig;
  readonly datapath: Datapath;
  readonly normal: NormalSwitch;
  readonly datapathId: bigint;
  close(): void;
}

export { PortOpenError };

function openPort(pc: PortConfig, cfg: SwitchConfig, pool: PacketPool): Port {
  try {
    if (pc.kind === 'tap') {
      return TapPort.open({ name: pc.name, ofPort: pc.ofPort, pool, burst: cfg.burst, vnetHdr: true, offloads: cfg.offload });
    }
    return PacketPort.open({ name: pc.name, ofPort: pc.ofPort, pool, burst: cfg.burst, vnetHdr: true });
  } catch (e) {
    if (e instanceof PortOpenError) throw e;
    throw new PortOpenError(`cannot open port ${pc.kind}:${pc.name}: ${(e as Error).message}`, 'EIO', 5, 'open', pc.name);
  }
}

function linkSummary(l: LinkInfo): string {
  return `${l.adminUp ? 'up' : 'down'}/${l.carrier ? 'carrier' : 'no-carrier'}`;
}

export function startSwitch(cfg: SwitchConfig, log: Logger): RunningSwitch {
  const pool = new PacketPool({ slots: cfg.poolSlots, frameCapacity: cfg.offload ? GSO_FRAME_CAPACITY : STANDARD_FRAME_CAPACITY });
  const datapath = new Datapath({ pool, burst: cfg.burst });
  const normal = new NormalSwitch({ agingSec: cfg.macAgingSec, maxEntries: cfg.macTableSize });
  datapath.pipeline = normal;

  const opened: Port[] = [];
  try {
    for (const pc of cfg.ports) opened.push(openPort(pc, cfg, pool));
  } catch (e) {
    for (const p of opened) p.close();
    throw e;
  }
  const lastLink = new Map<number, string>();
  for (const port of opened) {
    datapath.addPort(port);
    const link = port.link();
    lastLink.set(port.ofPort, linkSummary(link));
    log.info({ port: port.ofPort, name: port.name, kind: port.kind, mtu: link.mtu, link: linkSummary(link), offload: port.vnetHdr }, 'port added');
  }
  let datapathId = cfg.datapathId;
  if (datapathId === null) {
    // Like OVS: derive the datapath id from a port's MAC when none is configured.
    const mac = opened.map((p) => p.link().mac).find((m) => m !== 0) ?? 1;
    datapathId = BigInt(mac);
  }

  const tick = setInterval(() => {
    datapath.tick();
    for (const dp of datapath.portList) {
      const now = linkSummary(dp.port.link());
      if (lastLink.get(dp.ofPort) !== now) {
        log.info({ port: dp.ofPort, name: dp.port.name, link: now }, 'port link changed');
        lastLink.set(dp.ofPort, now);
      }
    }
  }, TICK_MS);
  tick.unref();

  let closed = false;
  return {
    config: cfg,
    datapath,
    normal,
    datapathId,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(tick);
      datapath.stop();
      for (const dp of [...datapath.portList]) {
        datapath.removePort(dp.ofPort);
        dp.port.close();
        log.info({ port: dp.ofPort, name: dp.port.name, stats: dp.counters.toJSON() }, 'port removed');
      }
    },
  };
}
