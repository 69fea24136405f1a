/*
 * The switch configuration: one validated shape, filled from the YAML config
 * file and the command line (flags win over the file). Every bad value is
 * reported as one sentence naming its key; nothing here opens a port.
 *
 * YAML keys are the long flag names: ports, burst, datapath-id, log-level,
 * pool-slots, offload, mac-aging, mac-table-size, metrics, admin-socket,
 * busy-poll; and for OpenFlow controllers (one `--controller` flag per
 * entry), listen (one `--listen` per entry), fail-mode, inactivity-probe,
 * max-backoff.
 *
 * Port kinds come from the registry (src/ports/kinds.ts): the spec prefixes,
 * each kind's NAME check and mapping keys, and the messages listing them.
 */

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  DEFAULT_INACTIVITY_PROBE_MS, DEFAULT_MAX_BACKOFF_MS, parseControllerTarget, parseListenTarget, type ControllerTarget, type ListenTarget,
} from './openflow/transport/connections.js';
import type { FailMode } from './openflow/ofproto/switch-api.js';
import { SPEC_PORT_KINDS, type PortKindName } from './ports/kinds.js';
import { MAX_BURST } from './ports/port.js';
import { defaultAdminSocketPath } from './stats/admin.js';
import { LOG_LEVELS, type LogLevel } from './stats/log.js';

export { LOG_LEVELS, type LogLevel };

export interface PortConfig {
  kind: PortKindName;
  name: string;
  ofPort: number;
}


export interface SwitchConfig {
  ports: PortConfig[];
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
}

export const FAIL_MODES = ['standalone', 'secure'] as const;

/** Prometheus' /metrics: loopback only unless the operator says otherwise. */
export const DEFAULT_METRICS = '127.0.0.1:9091';

/** The embedded default: a standalone learning switch between two TAPs it creates. */
export const DEFAULT_PORTS = ['tap:linc0=1', 'tap:linc1=2'];

export class ConfigError extends Error {
  readonly code = 'LINC_ERR_CONFIG';
}

/** Highest physical port number in OpenFlow 1.3 (OFPP_MAX). */
const OFPP_MAX = 0xffffff00;

/** `tap:NAME[=OFPORT] (TAP, created if missing) or if:NAME[=OFPORT] (...)`: the --port help, from the registry. */
export const PORT_SPEC_HELP = SPEC_PORT_KINDS.map((k) => `${k.kind}:NAME[=OFPORT] (${k.spec.help})`).join(' or ');
const PORT_SPEC_USAGE = SPEC_PORT_KINDS.map((k) => `${k.kind}:NAME[=OFPORT]`).join(' or ');

/** KIND:NAME[=OFPORT]: the kind checks NAME. */
const portString = z.string().transform((s, ctx) => {
  const m = /^([^:=]*):([^=]*)(?:=(.*))?$/.exec(s.trim());
  const kind = m ? SPEC_PORT_KINDS.find((k) => k.kind === m[1]) : undefined;
  if (!m || !kind) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a port spec: use ${PORT_SPEC_USAGE}` });
    return z.NEVER;
  }
  const [, , name, num] = m;
  const badName = kind.spec.checkName(name);
  if (badName !== null) {
    ctx.addIssue({ code: 'custom', message: badName });
    return z.NEVER;
  }
  let ofPort: number | undefined;
  if (num !== undefined) {
    ofPort = Number(num);
    if (!/^\d+$/.test(num) || ofPort < 1 || ofPort > OFPP_MAX) {
      ctx.addIssue({ code: 'custom', message: `OpenFlow port number "${num}" must be an integer from 1 to ${OFPP_MAX}` });
      return z.NEVER;
    }
  }
  return { kind: kind.kind, name, ofPort };
});

/** One port spec string (KIND:NAME[=OFPORT]) as --port takes it, for the port commands of a running switch; throws ConfigError. */
export function parsePortSpec(spec: string): { kind: PortKindName; name: string; ofPort?: number } {
  const r = portString.safeParse(spec);
  if (!r.success) throw new ConfigError(r.error.issues[0].message);
  return r.data;
}

/** The mapping form, first step: `type` names a kind that config files may use. */
const kindNames = SPEC_PORT_KINDS.map((k) => k.kind) as [PortKindName, ...PortKindName[]];
const portType = z.looseObject({ type: z.enum(kindNames, { message: `type must be ${kindNames.map((n) => `"${n}"`).join(' or ')}` }) });

/** The mapping form, second step: type, the kind's own keys, ofport; nothing else. */
const portMappings = new Map(
  SPEC_PORT_KINDS.map((k) => [
    k.kind,
    z
      .object({ type: z.literal(k.kind), ...k.spec.fields, ofport: z.number().int().min(1).max(OFPP_MAX).optional() })
      .strict()
      .transform((o) => ({ kind: o.type, name: o.name, ofPort: o.ofport })),
  ]),
);

function parsePortMapping(v: unknown) {
  const t = portType.safeParse(v);
  if (!t.success) return t;
  return portMappings.get(t.data.type)!.safeParse(v);
}

/** A port is either a spec string or a mapping; errors come from whichever form was given. */
const portEntry = z.unknown().transform((v, ctx) => {
  const r = typeof v === 'string' ? portString.safeParse(v) : parsePortMapping(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ ...issue, code: 'custom', message: issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message } as never);
  return z.NEVER;
});

const datapathId = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = String(v).trim().toLowerCase().replace(/^0x/, '').replaceAll(':', '');
  if (!/^[0-9a-f]{1,16}$/.test(s)) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a datapath id: up to 16 hex digits, e.g. 0x1 or 00:00:00:00:00:00:00:01` });
    return z.NEVER;
  }
  return BigInt('0x' + s);
});

/** `off`, or ADDR:PORT with ADDR an IPv4 address, a host name or a bracketed IPv6 address; port 0 picks a free one. */
const metricsAddress = z.string().transform((v, ctx) => {
  const s = v.trim();
  if (s === 'off') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not ADDR:PORT or off (e.g. 127.0.0.1:9091, [::1]:9091)` });
    return z.NEVER;
  }
  return { host: m[1] ?? m[2], port };
});

const socketPath = z
  .string()
  .min(1, 'must be a path or off')
  .max(100, 'must be at most 100 characters (a Unix socket path)')
  .transform((s) => (s === 'off' ? null : s));

/** A list of OpenFlow targets, each parsed by `parse` (whose string result is the error), without duplicates. */
function targetList<T extends { spec: string }>(parse: (s: string) => T | string) {
  const entry = z.string({ message: 'must be a string' }).transform((s, ctx) => {
    const t = parse(s);
    if (typeof t === 'string') {
      ctx.addIssue({ code: 'custom', message: t });
      return z.NEVER;
    }
    return t;
  });
  return z.array(entry).superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((t, i) => {
      if (seen.has(t.spec)) ctx.addIssue({ code: 'custom', path: [i], message: `${t.spec} is listed twice` });
      seen.add(t.spec);
    });
  });
}

const seconds = (max: number) =>
  z
    .number({ message: 'must be a number of seconds' })
    .min(0, 'must not be negative')
    .max(max, `must be at most ${max} seconds`);

const fileSchema = z
  .object({
    ports: z.array(portEntry).min(1, 'needs at least one port'),
    burst: z.number().int().min(1).max(MAX_BURST),
    'datapath-id': datapathId,
    'log-level': z.enum(LOG_LEVELS),
    'pool-slots': z.number().int().min(256).max(1 << 20),
    offload: z.boolean(),
    'mac-aging': z.number().int().min(1).max(1_000_000),
    'mac-table-size': z.number().int().min(16).max(1 << 22),
    'busy-poll': z.boolean(),
    controllers: targetList(parseControllerTarget),
    listen: targetList(parseListenTarget),
    'fail-mode': z.enum(FAIL_MODES, { message: 'must be "standalone" or "secure"' }),
    'inactivity-probe': seconds(3600).refine((v) => v === 0 || v >= 1, 'must be 0 (off) or at least 1 second'),
    'max-backoff': seconds(3600).int('must be a whole number of seconds').min(1, 'must be at least 1 second'),
    metrics: metricsAddress,
    'admin-socket': socketPath,
  })
  .partial()
  .strict();

type FileConfig = z.output<typeof fileSchema>;

/** Command-line values, as commander hands them over (strings), all optional. */
export interface CliValues {
  port?: string[];
  burst?: string;
  datapathId?: string;
  logLevel?: string;
  poolSlots?: string;
  offload?: boolean;
  macAging?: string;
  macTableSize?: string;
  busyPoll?: boolean;
  controller?: string[];
  listen?: string[];
  failMode?: string;
  inactivityProbe?: string;
  maxBackoff?: string;
  metrics?: string;
  adminSocket?: string;
}

function describe(issue: z.core.$ZodIssue, where: string): string {
  const key = issue.path.length === 0 ? '' : issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
  if (issue.code === 'unrecognized_keys') return `${where}: unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}${key ? ` in ${key}` : ''}`;
  return `${where}${key ? ` ${key}` : ''}: ${issue.message}`;
}

function validate(raw: unknown, where: string): FileConfig {
  const r = fileSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(describe(r.error.issues[0], where));
  return r.data;
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
  return validate(raw, `config file ${path}:`);
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

/** Merge a config file (optional) and the command line into one validated SwitchConfig. */
export function resolveConfig(cli: CliValues, file: FileConfig = {}): SwitchConfig {
  const fromCli = validate(
    {
      ports: cli.port,
      burst: intFlag(cli.burst, 'burst'),
      'datapath-id': cli.datapathId,
      'log-level': cli.logLevel,
      'pool-slots': intFlag(cli.poolSlots, 'pool-slots'),
      offload: cli.offload,
      'mac-aging': intFlag(cli.macAging, 'mac-aging'),
      'mac-table-size': intFlag(cli.macTableSize, 'mac-table-size'),
      'busy-poll': cli.busyPoll,
      controllers: cli.controller,
      listen: cli.listen,
      'fail-mode': cli.failMode,
      'inactivity-probe': numberFlag(cli.inactivityProbe, 'inactivity-probe'),
      'max-backoff': numberFlag(cli.maxBackoff, 'max-backoff'),
      metrics: cli.metrics,
      'admin-socket': cli.adminSocket,
    },
    'option',
  );
  const merged = { ...file, ...Object.fromEntries(Object.entries(fromCli).filter(([, v]) => v !== undefined)) };
  const ports = merged.ports ?? validate({ ports: DEFAULT_PORTS }, 'default').ports!;
  return {
    ports: assignPortNumbers(ports),
    burst: merged.burst ?? 32,
    datapathId: merged['datapath-id'] ?? null,
    logLevel: merged['log-level'] ?? 'info',
    poolSlots: merged['pool-slots'] ?? 1024,
    offload: merged.offload ?? true,
    macAgingSec: merged['mac-aging'] ?? 300,
    macTableSize: merged['mac-table-size'] ?? 8192,
    busyPoll: merged['busy-poll'] ?? false,
    controllers: merged.controllers ?? [],
    listen: merged.listen ?? [],
    failMode: merged['fail-mode'] ?? 'standalone',
    inactivityProbeMs: merged['inactivity-probe'] !== undefined ? Math.round(merged['inactivity-probe'] * 1000) : DEFAULT_INACTIVITY_PROBE_MS,
    maxBackoffMs: merged['max-backoff'] !== undefined ? merged['max-backoff'] * 1000 : DEFAULT_MAX_BACKOFF_MS,
    metrics: merged.metrics !== undefined ? merged.metrics : validate({ metrics: DEFAULT_METRICS }, 'default').metrics!,
    adminSocket: merged['admin-socket'] !== undefined ? merged['admin-socket'] : defaultAdminSocketPath(),
  };
}

/** Give ports without a number the lowest free one; refuse duplicate names and numbers. */
function assignPortNumbers(ports: Array<{ kind: PortKindName; name: string; ofPort?: number }>): PortConfig[] {
  const used = new Set<number>();
  const names = new Set<string>();
  for (const p of ports) {
    if (names.has(p.name)) throw new ConfigError(`port ${p.name} is listed twice`);
    names.add(p.name);
    if (p.ofPort === undefined) continue;
    if (used.has(p.ofPort)) throw new ConfigError(`OpenFlow port number ${p.ofPort} is given to two ports`);
    used.add(p.ofPort);
  }
  let next = 1;
  return ports.map((p) => {
    if (p.ofPort !== undefined) return { kind: p.kind, name: p.name, ofPort: p.ofPort };
    while (used.has(next)) next++;
    used.add(next);
    return { kind: p.kind, name: p.name, ofPort: next };
  });
}
