/*
 * The switch configuration: one validated shape (SwitchConfig), filled from
 * the YAML config file and the command line (flags win over the file), then
 * the defaults. Every bad value is reported as one sentence naming its key
 * (ConfigError, config-errors.ts); nothing here opens a port.
 *
 * What a key may hold is config-schema.ts's; port specs are config-ports.ts's.
 * This module owns the defaults and the rules across keys: ports without a
 * number get the lowest free one (names and numbers unique, the local port's
 * too), the local port is numbered PORT_LOCAL, a burst limit needs a rate,
 * busy-poll takes no polling window, and the TLS files of ssl:/pssl: targets
 * go together and are read and checked here (a missing, unreadable or
 * mismatched one is a configuration error).
 */

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import {
  DEFAULT_INACTIVITY_PROBE_MS, DEFAULT_MAX_BACKOFF_MS, type ControllerTarget, type ListenTarget,
} from './openflow/transport/connections.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS_PER_LISTENER, defaultBurstLimit } from './openflow/transport/peer-limits.js';
import { loadTlsCredentials, TlsCredentialsError, type TlsFiles } from './openflow/transport/tls-credentials.js';
import type { FailMode } from './openflow/ofproto/switch-api.js';
import { PORT_LOCAL } from './datapath/rules/rule.js';
import { MEGAFLOW_DEFAULT } from './datapath/rules/megaflow.js';
import type { PortKindName } from './ports/kinds.js';
import { defaultAdminSocketPath } from './stats/admin.js';
import { LOG_LEVELS, type LogLevel } from './stats/log.js';
import { ConfigError } from './config-errors.js';
import { kindOptionsText, type PortEntry } from './config-ports.js';
import { validate, type FileConfig } from './config-schema.js';

export { LOG_LEVELS, type LogLevel };

export interface PortConfig {
  kind: PortKindName;
  name: string;
  ofPort: number;
  /** Access port of this VLAN (`vlan=ID`); absent with trunks. */
  vlan?: number;
  /** Trunk port of these VLANs, ascending (`trunks=ID,ID`); absent with vlan. Neither: every VLAN, tags kept. */
  trunks?: number[];
  /** The kind's own options (e.g. `mode=ring` of if: ports), by name; absent when none is given. */
  options?: Record<string, string>;
}


export interface SwitchConfig {
  ports: PortConfig[];
  /** The switch's own TAP (`--local-port`), numbered PORT_LOCAL (OpenFlow LOCAL), or null. */
  localPort: PortConfig | null;
  burst: number;
  datapathId: bigint | null;
  logLevel: LogLevel;
  poolSlots: number;
  offload: boolean;
  macAgingSec: number;
  macTableSize: number;
  /** Where /metrics listens, or null (`--metrics off`). */
  metrics: { host: string; port: number } | null;
  /** The admin endpoint's Unix socket (llstat), or null (`--admin-socket off`). */
  adminSocket: string | null;
  /** Poll ports in a loop instead of sleeping until one is readable (lower latency, one core busy). */
  busyPoll: boolean;
  /** After a wakeup that found frames, keep polling the ports this long (us) before sleeping; 0 = sleep at once (rx-moderation.ts); with adaptiveRx, the longest window (0: 100 us). */
  rxUsecs: number;
  /** Adapt that window to the traffic (0..rxUsecs), like a NIC's adaptive interrupt coalescing: the default (resolveRxModeration). */
  adaptiveRx: boolean;
  /** OpenFlow mode: look frames up in the megaflow (wildcarded) cache, the default; false: the exact-match cache alone (datapath/rules/megaflow.ts). */
  megaflow: boolean;
  /** OpenFlow controllers the switch connects to (`--controller tcp:HOST:PORT`). */
  controllers: ControllerTarget[];
  /** Where the switch accepts OpenFlow connections (`--listen ptcp:PORT[:ADDR]`). */
  listen: ListenTarget[];
  /** standalone: learning switch while no controller is connected; secure: the flow tables only. */
  failMode: FailMode;
  /** Echo request after this much silence on a connection, disconnect after as long again; 0 = off. */
  inactivityProbeMs: number;
  /** Ceiling of the reconnect backoff to controllers. */
  maxBackoffMs: number;
  /** A connection whose peer has not completed the hello exchange by then is closed. */
  handshakeTimeoutMs: number;
  /** Connections each `--listen` listener keeps at once; more are refused. */
  listenMaxConnections: number;
  /** Packet-ins per second per connection (OVS controller_rate_limit); 0 = no limit. */
  controllerRateLimit: number;
  /** Packet-in burst per connection (OVS controller_burst_limit): given, or a quarter of the rate; 0 without a rate. */
  controllerBurstLimit: number;
  /** The PEM files of ssl:/pssl: targets (`--private-key`, `--certificate`, `--ca-cert`), checked readable and matching; null when not given. */
  tls: TlsFiles | null;
}

/** Prometheus' /metrics: loopback only unless the operator says otherwise. */
export const DEFAULT_METRICS = '127.0.0.1:9091';

/** The embedded default: a standalone learning switch between two TAPs it creates. */
export const DEFAULT_PORTS = ['tap:linc0=1', 'tap:linc1=2'];

/** The TLS keys, config-file name and SwitchConfig name. */
const TLS_KEYS = [['private-key', 'privateKey'], ['certificate', 'certificate'], ['ca-cert', 'caCert']] as const;

/**
 * The TLS files: all three or none; all three when a target is ssl: or
 * pssl:. Given ones are read and checked now, so that a bad key stops the
 * start with one line.
 */
function tlsFiles(merged: FileConfig, targets: ReadonlyArray<{ spec: string; tls?: true }>): TlsFiles | null {
  const missing = TLS_KEYS.filter(([key]) => merged[key] === undefined).map(([key]) => `--${key}`);
  const secure = targets.find((t) => t.tls);
  if (missing.length === TLS_KEYS.length && secure === undefined) return null;
  if (missing.length > 0) {
    const list = `--private-key, --certificate and --ca-cert (missing: ${missing.join(', ')})`;
    throw new ConfigError(secure !== undefined ? `${secure.spec} needs TLS keys: ${list}` : `the TLS keys go together: ${list}`);
  }
  const files = { privateKey: merged['private-key']!, certificate: merged.certificate!, caCert: merged['ca-cert']! };
  try {
    loadTlsCredentials(files);
  } catch (e) {
    if (e instanceof TlsCredentialsError) throw new ConfigError(e.message);
    throw e;
  }
  return files;
}

/** Command-line values, as commander hands them over (strings), all optional. */
export interface CliValues {
  port?: string[];
  localPort?: string;
  burst?: string;
  datapathId?: string;
  logLevel?: string;
  poolSlots?: string;
  offload?: boolean;
  macAging?: string;
  macTableSize?: string;
  busyPoll?: boolean;
  rxUsecs?: string;
  adaptiveRx?: boolean;
  megaflow?: boolean;
  controller?: string[];
  listen?: string[];
  failMode?: string;
  inactivityProbe?: string;
  maxBackoff?: string;
  handshakeTimeout?: string;
  listenMaxConnections?: string;
  controllerRateLimit?: string;
  controllerBurstLimit?: string;
  metrics?: string;
  adminSocket?: string;
  privateKey?: string;
  certificate?: string;
  caCert?: string;
}

/** Read and validate a YAML config file. */
export function loadConfigFile(path: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`config file ${path}: the top level must be a mapping of keys (ports, burst, ...)`);
  return { ...validate(raw, `config file ${path}:`), source: path };
}

function numberFlag(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(v.trim())) throw new ConfigError(`option --${flag}: "${v}" is not a number`);
  return Number(v);
}

function intFlag(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw new ConfigError(`option --${flag}: "${v}" is not a whole number`);
  return Number(v);
}

/**
 * Receive moderation from busy-poll, rx-usecs and adaptive-rx as given (undefined: not given).
 * Adaptive is the default; rx-usecs N alone is a fixed window (0: none, sleep at once: the old
 * default), and with adaptive-rx the ceiling (0: the default ceiling, rx-moderation.ts); adaptive-rx
 * false alone is no window. Busy-poll never sleeps, so it has no window: asking for one with it is
 * refused.
 */
function resolveRxModeration(busyPoll: boolean, rxUsecs: number | undefined, adaptive: boolean | undefined): { rxUsecs: number; adaptiveRx: boolean } {
  if (busyPoll && (adaptive === true || (rxUsecs ?? 0) > 0)) {
    throw new ConfigError('busy-poll polls all the time: rx-usecs and adaptive-rx (a polling window after each wakeup) do not go with it');
  }
  return { rxUsecs: rxUsecs ?? 0, adaptiveRx: !busyPoll && (adaptive ?? rxUsecs === undefined) };
}

/** Merge a config file (optional) and the command line into one validated SwitchConfig. */
export function resolveConfig(cli: CliValues, file: FileConfig = {}): SwitchConfig {
  const fromCli = validate(
    {
      ports: cli.port,
      'local-port': cli.localPort,
      burst: intFlag(cli.burst, 'burst'),
      'datapath-id': cli.datapathId,
      'log-level': cli.logLevel,
      'pool-slots': intFlag(cli.poolSlots, 'pool-slots'),
      offload: cli.offload,
      'mac-aging': intFlag(cli.macAging, 'mac-aging'),
      'mac-table-size': intFlag(cli.macTableSize, 'mac-table-size'),
      'busy-poll': cli.busyPoll,
      'rx-usecs': intFlag(cli.rxUsecs, 'rx-usecs'),
      'adaptive-rx': cli.adaptiveRx,
      megaflow: cli.megaflow,
      controllers: cli.controller,
      listen: cli.listen,
      'fail-mode': cli.failMode,
      'inactivity-probe': numberFlag(cli.inactivityProbe, 'inactivity-probe'),
      'max-backoff': numberFlag(cli.maxBackoff, 'max-backoff'),
      'handshake-timeout': numberFlag(cli.handshakeTimeout, 'handshake-timeout'),
      'listen-max-connections': intFlag(cli.listenMaxConnections, 'listen-max-connections'),
      'controller-rate-limit': intFlag(cli.controllerRateLimit, 'controller-rate-limit'),
      'controller-burst-limit': intFlag(cli.controllerBurstLimit, 'controller-burst-limit'),
      metrics: cli.metrics,
      'admin-socket': cli.adminSocket,
      'private-key': cli.privateKey,
      certificate: cli.certificate,
      'ca-cert': cli.caCert,
    },
    'option',
  );
  const merged = { ...file, ...Object.fromEntries(Object.entries(fromCli).filter(([, v]) => v !== undefined)) };
  const ports = merged.ports ?? validate({ ports: DEFAULT_PORTS }, 'default').ports!;
  const portsFrom = fromCli.ports === undefined && file.ports !== undefined && file.source !== undefined ? `config file ${file.source}: ` : '';
  const rateLimit = merged['controller-rate-limit'] ?? 0;
  const burstLimit = merged['controller-burst-limit'];
  if (burstLimit !== undefined && rateLimit === 0) throw new ConfigError('controller-burst-limit needs controller-rate-limit (packet-ins per second): without a rate there is nothing to burst over');
  const rx = resolveRxModeration(merged['busy-poll'] ?? false, merged['rx-usecs'], merged['adaptive-rx']);
  const local = merged['local-port'];
  const localPort: PortConfig | null = local === undefined ? null : { ...local, ofPort: PORT_LOCAL };
  return {
    ports: assignPortNumbers(ports, localPort, portsFrom),
    localPort,
    burst: merged.burst ?? 32,
    datapathId: merged['datapath-id'] ?? null,
    logLevel: merged['log-level'] ?? 'info',
    poolSlots: merged['pool-slots'] ?? 1024,
    offload: merged.offload ?? true,
    macAgingSec: merged['mac-aging'] ?? 300,
    macTableSize: merged['mac-table-size'] ?? 8192,
    busyPoll: merged['busy-poll'] ?? false,
    rxUsecs: rx.rxUsecs,
    adaptiveRx: rx.adaptiveRx,
    megaflow: merged.megaflow ?? MEGAFLOW_DEFAULT,
    controllers: merged.controllers ?? [],
    listen: merged.listen ?? [],
    failMode: merged['fail-mode'] ?? 'standalone',
    inactivityProbeMs: merged['inactivity-probe'] !== undefined ? Math.round(merged['inactivity-probe'] * 1000) : DEFAULT_INACTIVITY_PROBE_MS,
    maxBackoffMs: merged['max-backoff'] !== undefined ? merged['max-backoff'] * 1000 : DEFAULT_MAX_BACKOFF_MS,
    handshakeTimeoutMs: merged['handshake-timeout'] !== undefined ? Math.round(merged['handshake-timeout'] * 1000) : DEFAULT_HANDSHAKE_TIMEOUT_MS,
    listenMaxConnections: merged['listen-max-connections'] ?? DEFAULT_MAX_CONNECTIONS_PER_LISTENER,
    controllerRateLimit: rateLimit,
    controllerBurstLimit: rateLimit === 0 ? 0 : (burstLimit ?? defaultBurstLimit(rateLimit)),
    metrics: merged.metrics !== undefined ? merged.metrics : validate({ metrics: DEFAULT_METRICS }, 'default').metrics!,
    adminSocket: merged['admin-socket'] !== undefined ? merged['admin-socket'] : defaultAdminSocketPath(),
    tls: tlsFiles(merged, [...(merged.controllers ?? []), ...(merged.listen ?? [])]),
  };
}

/** A port as its spec writes it, the number always given (`tap:vm1=1,vlan=10`; the local port `tap:br0=LOCAL`): for logs. */
export function portSpecText(p: PortConfig): string {
  const vlan = p.vlan !== undefined ? `,vlan=${p.vlan}` : p.trunks !== undefined ? `,trunks=${p.trunks.join(',')}` : '';
  return `${p.kind}:${p.name}=${p.ofPort === PORT_LOCAL ? 'LOCAL' : p.ofPort}${vlan}${kindOptionsText(p.options)}`;
}

/** Every port the switch opens: the numbered ports, then the local port if there is one. */
export function switchPorts(cfg: Pick<SwitchConfig, 'ports' | 'localPort'>): PortConfig[] {
  return cfg.localPort === null ? cfg.ports : [...cfg.ports, cfg.localPort];
}

/**
 * Give ports without a number the lowest free one; refuse duplicate names
 * (the local port's too) and numbers (`from`: the message prefix naming the file).
 */
function assignPortNumbers(ports: PortEntry[], localPort: PortConfig | null, from: string): PortConfig[] {
  const owner = new Map<number, string>();
  const names = new Set<string>(localPort === null ? [] : [localPort.name]);
  for (const p of ports) {
    if (names.has(p.name)) throw new ConfigError(`${from}port ${p.name} is listed twice`);
    names.add(p.name);
    if (p.ofPort === undefined) continue;
    const first = owner.get(p.ofPort);
    if (first !== undefined) throw new ConfigError(`${from}OpenFlow port number ${p.ofPort} is given to two ports: ${first} and ${p.kind}:${p.name}`);
    owner.set(p.ofPort, `${p.kind}:${p.name}`);
  }
  const used = new Set(owner.keys());
  let next = 1;
  return ports.map((p) => {
    if (p.ofPort !== undefined) return { ...p, ofPort: p.ofPort };
    while (used.has(next)) next++;
    used.add(next);
    return { ...p, ofPort: next };
  });
}
