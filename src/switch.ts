/*
 * Switch: builds a running switch from a validated SwitchConfig: the packet
 * pool, the datapath, its ports (the PortManager, port-manager.ts, which
 * also adds and removes ports while the switch runs) and the forwarding
 * pipeline (the standalone learning switch until an OpenFlow controller
 * takes over), plus the once-a-second housekeeping tick (MAC aging, flow
 * timeouts, the link poll of ports kernel notifications do not cover), the
 * kernel's link notifications (src/ports/link-events.ts), and the stats
 * services: llstat windows, the admin socket (with the port routes,
 * port-routes.ts) and Prometheus /metrics. reload() applies a re-read
 * config file (SIGHUP): ports added, removed and changed; settings that
 * need a restart are named in the log.
 *
 * Invariants
 * - If any port fails to open, the ones already opened are closed again and
 *   the error names the port; a half-built switch is never left running.
 *   An `if:` port whose interface does not exist is not a failure: it waits.
 * - reload() never throws and never stops the switch: a bad file is logged
 *   and nothing changes.
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

import { switchPorts, type SwitchConfig } from './config.js';
import { ConfigError } from './config-errors.js';
import { Datapath } from './datapath/datapath.js';
import { NormalSwitch } from './datapath/learning/normal.js';
import { GSO_FRAME_CAPACITY, PacketPool, STANDARD_FRAME_CAPACITY } from './packet/pool.js';
import { portVlanOf } from './datapath/learning/vlan.js';
import { linkSummary, PortManager } from './port-manager.js';
import { portRoutes } from './port-routes.js';
import { lockInterface } from './ports/interface-lock.js';
import { openPort } from './ports/kinds.js';
import { LinkMonitor } from './ports/link-events.js';
import { MemoryReclaimer } from './memory-reclaim.js';
import { PortOpenError } from './ports/open-errors.js';
import { AdminSocketError, startAdminServer, type AdminServer } from './stats/admin.js';
import { LlstatWindows } from './stats/llstat.js';
import type { Logger } from './stats/log.js';
import { createSwitchMetrics, type SwitchMetrics } from './stats/metrics.js';
import { addControllerMetrics } from './stats/controller-metrics.js';
import { startMetricsServer, type MetricsServer } from './stats/metrics-server.js';
import { ControllerManager } from './openflow/transport/controller-manager.js';
import { addressText } from './openflow/transport/streams.js';
import { loadTlsCredentials } from './openflow/transport/tls-credentials.js';
import { warnExposedEndpoints } from './exposure.js';
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
  /** The configured ports: add, remove, list while the switch runs. */
  readonly ports: PortManager;
  /**
   * Apply a re-read configuration (SIGHUP): `load` reads and validates it
   * (null: the switch was started without a config file). Logs what changed;
   * never throws.
   */
  reload(load: (() => SwitchConfig) | null): void;
  close(): void;
}

export { PortOpenError };

/** The settings reload() cannot apply, by their config-file keys. */
const RESTART_SETTINGS: Array<[keyof SwitchConfig, string]> = [
  ['burst', 'burst'], ['datapathId', 'datapath-id'], ['poolSlots', 'pool-slots'], ['offload', 'offload'], ['macAgingSec', 'mac-aging'],
  ['macTableSize', 'mac-table-size'], ['busyPoll', 'busy-poll'], ['rxUsecs', 'rx-usecs'], ['adaptiveRx', 'adaptive-rx'], ['megaflow', 'megaflow'], ['controllers', 'controllers'], ['listen', 'listen'], ['failMode', 'fail-mode'],
  ['inactivityProbeMs', 'inactivity-probe'], ['maxBackoffMs', 'max-backoff'], ['metrics', 'metrics'], ['adminSocket', 'admin-socket'],
  ['handshakeTimeoutMs', 'handshake-timeout'], ['listenMaxConnections', 'listen-max-connections'],
  ['controllerRateLimit', 'controller-rate-limit'], ['controllerBurstLimit', 'controller-burst-limit'],
  ['tls', 'private-key/certificate/ca-cert'],
];

function sameSetting(a: unknown, b: unknown): boolean {
  const text = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return text(a) === text(b);
}

export function startSwitch(cfg: SwitchConfig, log: Logger, opts: { version?: string } = {}): RunningSwitch {
  // Before anything opens: a key file that became unreadable since the config was checked throws TlsCredentialsError.
  const tls = cfg.tls === null ? null : loadTlsCredentials(cfg.tls);
  warnExposedEndpoints(cfg, log);
  const pool = new PacketPool({ slots: cfg.poolSlots, frameCapacity: cfg.offload ? GSO_FRAME_CAPACITY : STANDARD_FRAME_CAPACITY });
  const datapath = new Datapath({ pool, burst: cfg.burst, busyPoll: cfg.busyPoll, rxModeration: { rxUsecs: cfg.rxUsecs, adaptive: cfg.adaptiveRx } });
  const normal = new NormalSwitch({ agingSec: cfg.macAgingSec, maxEntries: cfg.macTableSize });
  datapath.pipeline = normal;
  const llstat = new LlstatWindows(datapath);

  // Link notifications first, so that an interface appearing while the ports open is not missed.
  // The link watch (the notification socket, or else the tick that polls) keeps the process alive
  // even when no port has a device yet (every if: port waiting for its interface).
  let linkEvents = true;
  try {
    datapath.watchLinks(LinkMonitor.open());
  } catch (e) {
    linkEvents = false;
    log.warn({ err: (e as Error).message }, 'kernel link notifications unavailable: reading link state once a second instead');
  }
  const ports = new PortManager({
    datapath,
    log,
    open: (spec) => openPort(spec, { pool, burst: cfg.burst, offload: cfg.offload, notice: (m) => log.warn(m) }),
    lock: (name) => lockInterface(name, { pid: process.pid, adminSocket: cfg.adminSocket }),
    onRemoved: (dp) => llstat.portRemoved(dp.ofPort),
    onAttached: (dp, spec) => normal.setPortVlan(dp, portVlanOf(spec)),
  });
  try {
    ports.openAll(switchPorts(cfg));
  } catch (e) {
    datapath.stop();
    throw e;
  }
  let datapathId = cfg.datapathId;
  if (datapathId === null) {
    // Like OVS: derive the datapath id from a port's MAC when none is configured.
    const mac = datapath.portList.map((p) => p.link.mac).find((m) => m !== 0) ?? 1;
    datapathId = BigInt(mac);
  }
  // Standalone with no controller: it keeps the learning switch as the pipeline; secure: the flow tables.
  const ofSwitch = new OfSwitch({ datapath, normal, datapathId, failMode: cfg.failMode, megaflow: cfg.megaflow });

  datapath.onLinkChange((dp, link) =>
    log.info({ port: dp.ofPort, ifname: dp.port.name, link: linkSummary(link), mtu: link.mtu, ifindex: link.ifindex, ...(link.presence ? { presence: link.presence } : {}) }, 'port link changed'),
  );
  // One housekeeping tick: MAC aging and the link poll of unwatched ports (datapath), flow timeouts (OpenFlow).
  // And memory back to the system once a large drop in flows has settled (memory-reclaim.ts).
  const reclaimer = new MemoryReclaimer({
    flowCount: () => ofSwitch.tables.flowCount, flowsAdded: () => ofSwitch.tables.flowsAdded, onReclaim: (r) => log.info(r, 'memory reclaimed after a drop in flows'),
  });
  const tick = setInterval(() => {
    datapath.tick();
    ofSwitch.tick();
    reclaimer.tick();
  }, TICK_MS);
  if (linkEvents) tick.unref();

  // Metrics is a restart setting: with `--metrics off` nothing can ever scrape the process metrics.
  const metrics = createSwitchMetrics({ datapath, normal, datapathId, version: opts.version ?? 'unknown', openflow: ofSwitch, processMetrics: cfg.metrics !== null });
  let openflow: ControllerManager | null = null;
  if (cfg.controllers.length > 0 || cfg.listen.length > 0) {
    openflow = new ControllerManager({
      sw: ofSwitch,
      log,
      controllers: cfg.controllers,
      listen: cfg.listen,
      inactivityProbeMs: cfg.inactivityProbeMs,
      maxBackoffMs: cfg.maxBackoffMs,
      limits: {
        handshakeTimeoutMs: cfg.handshakeTimeoutMs,
        maxConnectionsPerListener: cfg.listenMaxConnections,
        controllerRateLimit: cfg.controllerRateLimit,
        controllerBurstLimit: cfg.controllerBurstLimit,
      },
      tls,
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
          routes: [...inspectRoutes(inspect), ...portRoutes(ports)],
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

  let running = cfg;
  const reload = (load: (() => SwitchConfig) | null): void => {
    if (load === null) {
      log.warn('reload asked (SIGHUP) but the switch was started without --config: nothing to re-read');
      return;
    }
    let next: SwitchConfig;
    try {
      next = load();
    } catch (e) {
      if (e instanceof ConfigError) log.error(`config reload refused, nothing changed: ${e.message}`);
      else log.error({ err: e }, 'config reload failed, nothing changed');
      return;
    }
    try {
      const r = ports.reload(switchPorts(next));
      for (const f of r.failed) log.warn({ spec: f.spec }, `config reload: port not added: ${f.error}`);
      if (next.logLevel !== running.logLevel) log.level = next.logLevel;
      const restart = RESTART_SETTINGS.filter(([key]) => !sameSetting(running[key], next[key])).map(([, name]) => name);
      if (restart.length > 0) log.warn({ settings: restart }, `config reload: ${restart.join(', ')} changed; needs a restart (kept as running)`);
      running = { ...running, ports: next.ports, logLevel: next.logLevel };
      log.info({ added: r.added, removed: r.removed, changed: r.changed, failed: r.failed.length, needsRestart: restart }, 'config reloaded');
    } catch (e) {
      log.error({ err: e }, 'config reload failed part way; the ports are as listed by linc-ts port list');
    }
  };

  return {
    config: cfg,
    ports,
    reload,
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
      (openflow?.listenerStatus() ?? []).flatMap((l) => (l.address ? [addressText(l.address)] : [])),
    close() {
      if (closed) return;
      closed = true;
      openflow?.close();
      clearInterval(tick);
      void admin?.close();
      void metricsServer?.close();
      datapath.stop();
      ports.closeAll();
    },
  };
}

