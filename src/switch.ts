/*
 * Switch: builds a running switch from a validated SwitchConfig: the packet
 * pool, the datapath, its ports and the forwarding pipeline (the standalone
 * learning switch until an OpenFlow controller takes over), plus the
 * once-a-second housekeeping tick (MAC aging, link-state changes), and the
 * stats services: llstat windows, the admin socket and Prometheus /metrics.
 *
 * Invariants
 * - If any port fails to open, the ones already opened are closed again and
 *   the error names the port; a half-built switch is never left running.
 * - close() is idempotent: stops polling, closes every fd (a TAP the switch
 *   created disappears with its fd), clears the tick, removes the admin
 *   socket and stops the metrics server.
 * - The admin and metrics servers are best effort: if one cannot listen
 *   (address in use, another switch on the socket) the error is logged and
 *   the switch keeps forwarding without it. `ready` settles once both tried.
 *   The OpenFlow listeners are best effort the same way; the controller
 *   manager (src/openflow/controller-manager.ts) exists only when
 *   controllers or listeners are configured.
 */

import { Datapath } from './datapath/datapath.js';
import { NormalSwitch } from './datapath/learning/normal.js';
import { GSO_FRAME_CAPACITY, PacketPool, STANDARD_FRAME_CAPACITY } from './packet/pool.js';
import { switchPorts, type PortConfig, type SwitchConfig } from './config.js';
import { portVlanOf } from './datapath/learning/vlan.js';
import { openPort } from './ports/kinds.js';
import { PortOpenError } from './ports/open-errors.js';
import type { LinkInfo, Port } from './ports/port.js';
import { AdminSocketError, startAdminServer, type AdminServer } from './stats/admin.js';
import { LlstatWindows } from './stats/llstat.js';
import type { Logger } from './stats/log.js';
import { addControllerMetrics, createSwitchMetrics, startMetricsServer, type MetricsServer, type SwitchMetrics } from './stats/metrics.js';
import { ControllerManager } from './openflow/transport/controller-manager.js';
import { OfSwitch } from './openflow/ofproto/of-switch.js';
import { inspectRoutes, inspectStatus, type InspectTarget } from './inspect-routes.js';

export const TICK_MS = 1000;

export interface RunningSwitch {
  readonly config: SwitchConfig;
  readonly datapath: Datapath;
  readonly normal: NormalSwitch;
  readonly datapathId: bigint;
  readonly llstat: LlstatWindows;
  readonly metrics: SwitchMetrics;
  /** Settles when the admin endpoint and the metrics server listen (or failed to, which is logged). */
  readonly ready: Promise<void>;
  /** The servers that did start (null when off or failed). */
  readonly adminServer: () => AdminServer | null;
  readonly metricsServer: () => MetricsServer | null;
  /** The OpenFlow side of the switch: tables, groups, meters; decides between itself and the learning switch (fail mode). */
  readonly ofSwitch: OfSwitch;
  /** The OpenFlow connections (null when no --controller and no --listen). */
  readonly openflow: ControllerManager | null;
  /** Where the OpenFlow listeners listen ("ADDR:PORT"), once `ready`. */
  openflowListeners(): string[];
  close(): void;
}

export { PortOpenError };

/** Open a configured port through the port-kind registry; throws the PortOpenError naming it. */
function openConfiguredPort(pc: PortConfig, cfg: SwitchConfig, pool: PacketPool): Port {
  const port = openPort(pc, { pool, burst: cfg.burst, offload: cfg.offload });
  if (port instanceof PortOpenError) throw port;
  return port;
}

function linkSummary(l: LinkInfo): string {
  return `${l.adminUp ? 'up' : 'down'}/${l.carrier ? 'carrier' : 'no-carrier'}`;
}

export function startSwitch(cfg: SwitchConfig, log: Logger, opts: { version?: string } = {}): RunningSwitch {
  const pool = new PacketPool({ slots: cfg.poolSlots, frameCapacity: cfg.offload ? GSO_FRAME_CAPACITY : STANDARD_FRAME_CAPACITY });
  const datapath = new Datapath({ pool, burst: cfg.burst, busyPoll: cfg.busyPoll });
  const normal = new NormalSwitch({ agingSec: cfg.macAgingSec, maxEntries: cfg.macTableSize });
  datapath.pipeline = normal;

  const specs = switchPorts(cfg);
  const opened: Port[] = [];
  try {
    for (const pc of specs) opened.push(openConfiguredPort(pc, cfg, pool));
  } catch (e) {
    for (const p of opened) p.close();
    throw e;
  }
  for (const [i, port] of opened.entries()) {
    const dp = datapath.addPort(port);
    normal.setPortVlan(dp, portVlanOf(specs[i]));
    const link = dp.link;
    log.info({ port: port.ofPort, ifname: port.name, kind: port.kind, mtu: link.mtu, link: linkSummary(link), offload: port.vnetHdr, vlan: dp.vlan?.toString() }, 'port added');
  }
  let datapathId = cfg.datapathId;
  if (datapathId === null) {
    // Like OVS: derive the datapath id from a port's MAC when none is configured.
    const mac = opened.map((p) => p.link().mac).find((m) => m !== 0) ?? 1;
    datapathId = BigInt(mac);
  }
  // Standalone with no controller: it keeps the learning switch as the pipeline; secure: the flow tables.
  const ofSwitch = new OfSwitch({ datapath, normal, datapathId, failMode: cfg.failMode });

  datapath.onLinkChange((dp, link) => log.info({ port: dp.ofPort, ifname: dp.port.name, link: linkSummary(link), mtu: link.mtu }, 'port link changed'));
  // One housekeeping tick: MAC aging and the one link poll (datapath), flow timeouts and port changes (OpenFlow).
  const tick = setInterval(() => {
    datapath.tick();
    ofSwitch.tick();
  }, TICK_MS);
  tick.unref();

  const llstat = new LlstatWindows(datapath);
  const metrics = createSwitchMetrics({ datapath, normal, datapathId, version: opts.version ?? 'unknown', openflow: ofSwitch });
  let openflow: ControllerManager | null = null;
  if (cfg.controllers.length > 0 || cfg.listen.length > 0) {
    openflow = new ControllerManager({
      sw: ofSwitch,
      log,
      controllers: cfg.controllers,
      listen: cfg.listen,
      inactivityProbeMs: cfg.inactivityProbeMs,
      maxBackoffMs: cfg.maxBackoffMs,
    });
    addControllerMetrics(metrics, openflow);
  }
  const openflowReady = openflow?.start() ?? Promise.resolve();
  const startedMs = performance.now();
  const inspect: InspectTarget = { datapath, normal, ofSwitch, datapathId, version: opts.version, openflow: () => openflow };
  let admin: AdminServer | null = null;
  let metricsServer: MetricsServer | null = null;
  let closed = false;
  const adminReady =
    cfg.adminSocket === null
      ? Promise.resolve()
      : startAdminServer(cfg.adminSocket, {
          llstat,
          log,
          status: () => inspectStatus(inspect, startedMs),
          routes: inspectRoutes(inspect),
        }).then(
          (s) => {
            if (closed) void s.close();
            else admin = s;
          },
          (e: Error) => {
            if (e instanceof AdminSocketError) log.warn({ socket: cfg.adminSocket }, `admin endpoint not started (llstat unavailable): ${e.message}`);
            else log.error({ err: e, socket: cfg.adminSocket }, 'admin endpoint not started (llstat unavailable)');
          },
        );
  const metricsReady =
    cfg.metrics === null
      ? Promise.resolve()
      : startMetricsServer(cfg.metrics, metrics, log).then(
          (s) => {
            if (closed) void s.close();
            else metricsServer = s;
          },
          (e: NodeJS.ErrnoException) => log.error({ address: `${cfg.metrics!.host}:${cfg.metrics!.port}`, code: e.code }, `metrics server not started: ${e.message}`),
        );

  return {
    config: cfg,
    datapath,
    normal,
    datapathId,
    llstat,
    metrics,
    ready: Promise.all([adminReady, metricsReady, openflowReady]).then(() => undefined),
    adminServer: () => admin,
    metricsServer: () => metricsServer,
    ofSwitch,
    openflow,
    openflowListeners: () =>
      (openflow?.listenerStatus() ?? []).flatMap((l) => (l.address ? [`${l.address.family === 'IPv6' ? `[${l.address.address}]` : l.address.address}:${l.address.port}`] : [])),
    close() {
      if (closed) return;
      closed = true;
      openflow?.close();
      clearInterval(tick);
      void admin?.close();
      void metricsServer?.close();
      datapath.stop();
      for (const dp of [...datapath.portList]) {
        llstat.portRemoved(dp.ofPort);
        datapath.removePort(dp.ofPort);
        dp.port.close();
        log.info({ port: dp.ofPort, ifname: dp.port.name, stats: dp.counters.toJSON() }, 'port removed');
      }
    },
  };
}

