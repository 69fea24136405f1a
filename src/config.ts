/*
 * The switch configuration: one validated shape, filled from the YAML config
 * file and the command line (flags win over the file). Every bad value is
 * reported as one sentence naming its key; nothing here opens a port.
 *
 * YAML keys are the long flag names: ports, local-port, burst, datapath-id,
 * log-level, pool-slots, offload, mac-aging, mac-table-size, metrics,
 * admin-socket, busy-poll, rx-usecs, adaptive-rx, megaflow; and for OpenFlow controllers (one `--controller`
 * flag per entry), listen (one `--listen` per entry), fail-mode,
 * inactivity-probe, max-backoff; the peer limits handshake-timeout,
 * listen-max-connections, controller-rate-limit, controller-burst-limit;
 * and the TLS files of ssl:/pssl: targets private-key, certificate,
 * ca-cert (read and checked here: a missing, unreadable or mismatched one
 * is a configuration error).
 *
 * Port kinds come from the registry (src/ports/kinds.ts): the spec prefixes,
 * each kind's NAME check and mapping keys, and the messages listing them.
 *
 * Messages are the project's own sentences: zod's wording for a value of the
 * wrong type or a bad choice never reaches the user (plainIssue), and an
 * unknown key or choice close to a known one gets a "did you mean".
 *
 * Every kind takes the same VLAN options (the learning switch's, OVS's
 * tag/trunks): `KIND:NAME[=OFPORT][,vlan=ID | ,trunks=ID,ID...]`, or the
 * mapping keys `vlan: ID` / `trunks: [ID, ...]`; ids 1..4094, one or the
 * other. The local port (`--local-port tap:NAME`) is a TAP numbered
 * PORT_LOCAL (OpenFlow's LOCAL), never given a number of its own.
 */

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { didYouMean } from './did-you-mean.js';
import {
  DEFAULT_INACTIVITY_PROBE_MS, DEFAULT_MAX_BACKOFF_MS, parseControllerTarget, parseListenTarget, type ControllerTarget, type ListenTarget,
} from './openflow/transport/connections.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS_PER_LISTENER, defaultBurstLimit } from './openflow/transport/peer-limits.js';
import { loadTlsCredentials, TlsCredentialsError, type TlsFiles } from './openflow/transport/tls-credentials.js';
import type { FailMode } from './openflow/ofproto/switch-api.js';
import { PORT_LOCAL } from './datapath/rules/rule.js';
import { VLAN_ID_MAX, VLAN_ID_MIN } from './datapath/learning/vlan.js';
import { MAX_RX_USECS } from './datapath/rx-moderation.js';
import { MEGAFLOW_DEFAULT } from './datapath/rules/megaflow.js';
import { SPEC_PORT_KINDS, type PortKindName, type SpecPortKind } from './ports/kinds.js';
import { MAX_BURST } from './ports/port.js';
import { defaultAdminSocketPath } from './stats/admin.js';
import { LOG_LEVELS, type LogLevel } from './stats/log.js';

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

/** The learning switch's VLAN options, after a comma in a port spec. */
const VLAN_OPTIONS_USAGE = 'vlan=ID (access port) or trunks=ID,ID... (trunk port)';

/** `tap:NAME[=OFPORT] (TAP, created if missing) or if:NAME[=OFPORT] (...)`, then the VLAN options: the --port help, from the registry. */
export const PORT_SPEC_HELP = `${SPEC_PORT_KINDS.map((k) => `${k.kind}:NAME[=OFPORT] (${k.spec.help})`).join(' or ')}, optionally followed by ,vlan=ID (access port) or ,trunks=ID,ID... (trunk port)${SPEC_PORT_KINDS.flatMap((k) => Object.entries(k.spec.options ?? {}).map(([key, o]) => `; ${k.kind}: ports also ,${key}=${o.values.join('|')} (${o.help})`)).join('')}`;
const PORT_SPEC_USAGE = SPEC_PORT_KINDS.map((k) => `${k.kind}:NAME[=OFPORT]`).join(' or ');
const PORT_FORMS = `port specs (${PORT_SPEC_USAGE}) or mappings ({ type: ${SPEC_PORT_KINDS[0].kind}, name: NAME, ofport: N })`;

/** A value as the user wrote it, for "must be X, not Y". */
function valueWords(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the text ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeof v;
}

/** `"a", "b" or "c"` */
function quotedChoices(values: readonly unknown[]): string {
  const q = values.map((v) => JSON.stringify(v));
  return q.length > 1 ? `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}` : q.join('');
}

/** `unknown key "x" (did you mean "y"?)`, for keys not among `known`. */
function unknownKeys(keys: readonly string[], known: readonly string[]): string {
  return `unknown key${keys.length === 1 ? '' : 's'} ${keys.map((k) => `"${k}"${didYouMean(k, known)}`).join(', ')}`;
}

const WANTED: Record<string, string> = {
  number: 'must be a number',
  int: 'must be a whole number',
  boolean: 'must be true or false',
  string: 'must be a string',
  array: 'must be a list',
  object: 'must be a mapping',
};

/**
 * Every schema here parses with this error map: zod's wording for a wrong
 * type ("Invalid input: expected number, received string") or a bad choice
 * becomes a sentence. Messages set on a schema itself win over it; range
 * checks keep zod's ("Too small: expected number to be >=1").
 */
function plainIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is missing';
    return `${WANTED[issue.expected] ?? `must be a ${issue.expected}`}, not ${valueWords(issue.input)}`;
  }
  if (issue.code === 'invalid_value') return `must be ${quotedChoices(issue.values)}${didYouMean(issue.input, issue.values.map(String))}`;
  if (issue.code === 'invalid_union') return `is not valid here: ${valueWords(issue.input)}`;
  return undefined;
}
const PLAIN = { error: plainIssue };

/** A port as parsed from a spec string or a mapping, before numbering. */
export interface PortEntry {
  kind: PortKindName;
  name: string;
  ofPort?: number;
  vlan?: number;
  trunks?: number[];
  options?: Record<string, string>;
}

const VLAN_RANGE = `an integer from ${VLAN_ID_MIN} to ${VLAN_ID_MAX}`;
const BOTH_VLAN_MODES = 'a port takes vlan (access port) or trunks (trunk port), not both';

/** A VLAN id of a spec string, or the sentence saying why not. */
function vlanIdOf(text: string): number | string {
  const id = Number(text);
  return /^\d+$/.test(text) && id >= VLAN_ID_MIN && id <= VLAN_ID_MAX ? id : `VLAN id "${text}" must be ${VLAN_RANGE}`;
}

/** `KEY=VALUE` of a kind's own option: the value, or the sentence saying why not. */
function kindOptionValue(kind: SpecPortKind, key: string, value: string): string | { value: string } {
  const values = kind.spec.options![key].values;
  if (!values.includes(value)) return `${kind.kind} port option ${key} must be ${values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}` : values[0]}, not "${value}"`;
  return { value };
}

/** How a kind's own options are written after a comma, for messages: `, or mode=ring|mmsg`. */
function kindOptionsUsage(kind: SpecPortKind): string {
  const opts = Object.entries(kind.spec.options ?? {});
  return opts.length === 0 ? '' : `, or ${opts.map(([k, o]) => `${k}=${o.values.join('|')}`).join(', ')}`;
}

/** `,KEY=VALUE...` of a port's kind options (in the kind's declaration order), for spec texts in logs. */
export function kindOptionsText(options: Readonly<Record<string, string>> | undefined): string {
  return options === undefined ? '' : Object.entries(options).map(([k, v]) => `,${k}=${v}`).join('');
}

/** The options after a spec's first comma: `vlan=ID` or `trunks=ID,ID...`, and the kind's own. The options, or the sentence saying why not. */
function parseVlanOptions(text: string, kind: SpecPortKind): Pick<PortEntry, 'vlan' | 'trunks' | 'options'> | string {
  const out: Pick<PortEntry, 'vlan' | 'trunks' | 'options'> = {};
  const usage = VLAN_OPTIONS_USAGE + kindOptionsUsage(kind);
  let inTrunks = false;
  for (const token of text.split(',')) {
    if (token.trim() === '') return `an empty option after ",": use ${usage}`;
    const eq = token.indexOf('=');
    const key = eq < 0 ? null : token.slice(0, eq).trim();
    const value = (eq < 0 ? token : token.slice(eq + 1)).trim();
    if (key === null && !inTrunks) return `"${token}" is not a port option: use ${usage}`;
    if (key !== null && kind.spec.options?.[key] !== undefined && key !== 'vlan' && key !== 'trunks') {
      if (out.options?.[key] !== undefined) return `${key} is given twice`;
      const v = kindOptionValue(kind, key, value);
      if (typeof v === 'string') return v;
      out.options = { ...out.options, [key]: v.value };
      inTrunks = false;
      continue;
    }
    if (key !== null && key !== 'vlan' && key !== 'trunks') return `"${key}" is not a port option: use ${usage}`;
    if (key !== null && out[key] !== undefined) return `${key} is given twice`;
    if (value === '') return `${key ?? 'trunks'} needs a VLAN id (${VLAN_RANGE})`;
    const id = vlanIdOf(value);
    if (typeof id === 'string') return id;
    if (key === 'vlan') {
      out.vlan = id;
      inTrunks = false;
    } else {
      if (key === 'trunks') out.trunks = [];
      out.trunks!.push(id);
      inTrunks = true;
    }
  }
  if (out.vlan !== undefined && out.trunks !== undefined) return BOTH_VLAN_MODES;
  if (out.trunks !== undefined) out.trunks = [...new Set(out.trunks)].sort((a, b) => a - b);
  return out;
}

/** KIND:NAME[=OFPORT][,vlan=ID | ,trunks=ID,ID...]: the kind checks NAME. */
const portString = z.string().transform((s, ctx): PortEntry => {
  const spec = s.trim();
  const comma = spec.indexOf(',');
  const head = comma < 0 ? spec : spec.slice(0, comma);
  const m = /^([^:=]*):([^=]*)(?:=(.*))?$/.exec(head);
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
  const entry: PortEntry = { kind: kind.kind, name };
  if (num !== undefined) {
    entry.ofPort = Number(num);
    if (!/^\d+$/.test(num) || entry.ofPort < 1 || entry.ofPort > OFPP_MAX) {
      ctx.addIssue({ code: 'custom', message: `OpenFlow port number "${num}" must be an integer from 1 to ${OFPP_MAX}` });
      return z.NEVER;
    }
  }
  if (comma < 0) return entry;
  const options = parseVlanOptions(spec.slice(comma + 1), kind);
  if (typeof options === 'string') {
    ctx.addIssue({ code: 'custom', message: options });
    return z.NEVER;
  }
  return { ...entry, ...options };
});

/** One port spec string (KIND:NAME[=OFPORT]) as --port takes it, for the port commands of a running switch; throws ConfigError. */
export function parsePortSpec(spec: string): PortEntry {
  const r = portString.safeParse(spec, PLAIN);
  if (!r.success) throw new ConfigError(r.error.issues[0].message);
  return r.data;
}

/** The mapping form, first step: `type` names a kind that config files may use. */
const kindNames = SPEC_PORT_KINDS.map((k) => k.kind) as [PortKindName, ...PortKindName[]];
const portType = z.looseObject(
  { type: z.enum(kindNames, { error: (iss) => `type must be ${kindNames.map((n) => `"${n}"`).join(' or ')}${didYouMean(iss.input, kindNames)}` }) },
  { error: (iss) => `must be a port spec (${PORT_SPEC_USAGE}) or a mapping with type and name, not ${valueWords(iss.input)}` },
);

const vlanId = z.number({ message: `must be a VLAN id, ${VLAN_RANGE}` }).int(`must be a VLAN id, ${VLAN_RANGE}`).min(VLAN_ID_MIN, `must be a VLAN id, ${VLAN_RANGE}`).max(VLAN_ID_MAX, `must be a VLAN id, ${VLAN_RANGE}`);
const trunkList = z.array(vlanId, { message: 'must be a list of VLAN ids, e.g. [10, 20]' }).min(1, 'must name at least one VLAN id');

/** The mapping form's keys of a kind's own options: each one of its values, optional. */
function kindOptionFields(kind: SpecPortKind): Record<string, z.ZodOptional<z.ZodEnum>> {
  const fields: Record<string, z.ZodOptional<z.ZodEnum>> = {};
  for (const [key, o] of Object.entries(kind.spec.options ?? {})) {
    fields[key] = z.enum(o.values, { message: `must be ${o.values.map((v) => `"${v}"`).join(' or ')}` }).optional();
  }
  return fields;
}

/** The mapping form, second step: type, the kind's own keys, ofport, vlan or trunks; nothing else. */
const portMappings = new Map(
  SPEC_PORT_KINDS.map((k) => [
    k.kind,
    z
      .object({ type: z.literal(k.kind), ...k.spec.fields, ofport: z.number().int().min(1).max(OFPP_MAX).optional(), vlan: vlanId.optional(), trunks: trunkList.optional(), ...kindOptionFields(k) })
      .strict()
      .refine((o) => o.vlan === undefined || o.trunks === undefined, BOTH_VLAN_MODES)
      .transform((o): PortEntry => {
        const entry: PortEntry = { kind: o.type, name: o.name, ofPort: o.ofport };
        if (o.vlan !== undefined) entry.vlan = o.vlan;
        if (o.trunks !== undefined) entry.trunks = [...new Set(o.trunks)].sort((a, b) => a - b);
        for (const key of Object.keys(k.spec.options ?? {})) {
          const v = (o as Record<string, unknown>)[key];
          if (typeof v === 'string') entry.options = { ...entry.options, [key]: v };
        }
        return entry;
      }),
  ]),
);
const portMappingKeys = new Map(SPEC_PORT_KINDS.map((k) => [k.kind, ['type', ...Object.keys(k.spec.fields), 'ofport', ...Object.keys(k.spec.options ?? {})]]));

function parsePortMapping(v: unknown) {
  const t = portType.safeParse(v, PLAIN);
  if (!t.success) return { ...t, known: [] };
  return { ...portMappings.get(t.data.type)!.safeParse(v, PLAIN), known: portMappingKeys.get(t.data.type)! };
}

/** A port is either a spec string or a mapping; errors come from whichever form was given (an unknown key first: it explains a missing one). */
const portEntry = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'string' && (typeof v !== 'object' || v === null || Array.isArray(v))) {
    ctx.addIssue({ code: 'custom', message: `must be a port spec (${PORT_SPEC_USAGE}) or a mapping with type and name, not ${valueWords(v)}` });
    return z.NEVER;
  }
  const r = typeof v === 'string' ? { ...portString.safeParse(v, PLAIN), known: [] } : parsePortMapping(v);
  if (r.success) return r.data;
  const issues = [...r.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  for (const issue of issues) ctx.addIssue({ ...issue, code: 'custom', message: issue.code === 'unrecognized_keys' ? unknownKeys(issue.keys, r.known) : issue.message } as never);
  return z.NEVER;
});

/** The local port: a port entry of kind tap, without a number (it is LOCAL). */
const localPortEntry = portEntry.superRefine((p, ctx) => {
  if (p.kind !== 'tap') ctx.addIssue({ code: 'custom', message: `the local port must be a TAP (tap:NAME), not ${p.kind}:${p.name}` });
  else if (p.ofPort !== undefined) ctx.addIssue({ code: 'custom', message: `the local port is numbered LOCAL; it takes no OpenFlow port number (drop "=${p.ofPort}")` });
});

const DATAPATH_ID_FORM = 'up to 16 hex digits, e.g. 0x1 or 00:00:00:00:00:00:00:01';
const datapathId = z.union([z.string(), z.number()], { error: (iss) => `must be a datapath id (${DATAPATH_ID_FORM}), not ${valueWords(iss.input)}` }).transform((v, ctx) => {
  const s = String(v).trim().toLowerCase().replace(/^0x/, '').replaceAll(':', '');
  if (!/^[0-9a-f]{1,16}$/.test(s)) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a datapath id: ${DATAPATH_ID_FORM}` });
    return z.NEVER;
  }
  return BigInt('0x' + s);
});

/** `off`, or ADDR:PORT with ADDR an IPv4 address, a host name or a bracketed IPv6 address; port 0 picks a free one. */
const metricsAddress = z.string({ error: (iss) => `must be ADDR:PORT or off (e.g. 127.0.0.1:9091), not ${valueWords(iss.input)}` }).transform((v, ctx) => {
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
  .string({ error: (iss) => `must be a path or off, not ${valueWords(iss.input)}` })
  .min(1, 'must be a path or off')
  .max(100, 'must be at most 100 characters (a Unix socket path)')
  .transform((s) => (s === 'off' ? null : s));

/** A list of OpenFlow targets (`what`, for the message when it is not a list), each parsed by `parse` (whose string result is the error), without duplicates. */
function targetList<T extends { spec: string }>(what: string, parse: (s: string) => T | string) {
  const entry = z.string({ message: 'must be a string' }).transform((s, ctx) => {
    const t = parse(s);
    if (typeof t === 'string') {
      ctx.addIssue({ code: 'custom', message: t });
      return z.NEVER;
    }
    return t;
  });
  return z.array(entry, { error: (iss) => `must be a list of ${what}, not ${valueWords(iss.input)}` }).superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((t, i) => {
      if (seen.has(t.spec)) ctx.addIssue({ code: 'custom', path: [i], message: `${t.spec} is listed twice` });
      seen.add(t.spec);
    });
  });
}

const pemFile = z.string({ error: (iss) => `must be the path of a PEM file, not ${valueWords(iss.input)}` }).min(1, 'must be the path of a PEM file');

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

const seconds = (max: number) =>
  z
    .number({ message: 'must be a number of seconds' })
    .min(0, 'must not be negative')
    .max(max, `must be at most ${max} seconds`);

const fileSchema = z
  .object({
    ports: z
      .array(portEntry, {
        error: (iss) => `must be a list of ${PORT_FORMS}, not ${valueWords(iss.input)}${typeof iss.input === 'string' ? ` (write ports: [${iss.input}])` : ''}`,
      })
      .min(1, 'needs at least one port'),
    'local-port': localPortEntry,
    burst: z.number().int().min(1).max(MAX_BURST),
    'datapath-id': datapathId,
    'log-level': z.enum(LOG_LEVELS),
    'pool-slots': z.number().int().min(256).max(1 << 20),
    offload: z.boolean(),
    'mac-aging': z.number().int().min(1).max(1_000_000),
    'mac-table-size': z.number().int().min(16).max(1 << 22),
    'busy-poll': z.boolean(),
    'rx-usecs': z.number({ message: 'must be a whole number of microseconds' }).int('must be a whole number of microseconds').min(0, 'must not be negative (0: no polling window)').max(MAX_RX_USECS, `must be at most ${MAX_RX_USECS} (for more, use busy-poll)`),
    'adaptive-rx': z.boolean(),
    megaflow: z.boolean(),
    controllers: targetList('controller targets (tcp:HOST[:PORT] or ssl:HOST[:PORT])', parseControllerTarget),
    listen: targetList('listen targets (ptcp:[PORT][:ADDR], pssl:[PORT][:ADDR] or punix:PATH)', parseListenTarget),
    'fail-mode': z.enum(FAIL_MODES, { error: (iss) => `must be "standalone" or "secure"${didYouMean(iss.input, FAIL_MODES)}` }),
    'inactivity-probe': seconds(3600).refine((v) => v === 0 || v >= 1, 'must be 0 (off) or at least 1 second'),
    'max-backoff': seconds(3600).int('must be a whole number of seconds').min(1, 'must be at least 1 second'),
    'handshake-timeout': seconds(3600).min(1, 'must be at least 1 second'),
    'listen-max-connections': z.number({ message: 'must be a whole number' }).int('must be a whole number').min(1, 'must be at least 1').max(65535, 'must be at most 65535'),
    'controller-rate-limit': z.number({ message: 'must be a whole number of packets per second' }).int('must be a whole number of packets per second').min(0, 'must not be negative (0: no limit)').max(10_000_000, 'must be at most 10000000'),
    'controller-burst-limit': z.number({ message: 'must be a whole number of packets' }).int('must be a whole number of packets').min(1, 'must be at least 1').max(10_000_000, 'must be at most 10000000'),
    metrics: metricsAddress,
    'admin-socket': socketPath,
    'private-key': pemFile,
    certificate: pemFile,
    'ca-cert': pemFile,
  })
  .partial()
  .strict();

/** A validated config file; `source` is the file it was read from (messages name it). */
/** The keys a config file may have. */
export const CONFIG_FILE_KEYS = Object.keys(fileSchema.shape);

type FileConfig = z.output<typeof fileSchema> & { source?: string };

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

/** `where` is `config file PATH:` or `option`; the key follows it, then the message. */
function describe(issue: z.core.$ZodIssue, where: string): string {
  const key = issue.path.length === 0 ? '' : issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
  const head = key ? `${where} ${key}` : where.replace(/:$/, '');
  if (issue.code === 'unrecognized_keys') return `${head}: ${unknownKeys(issue.keys, CONFIG_FILE_KEYS)}`;
  return `${head}: ${issue.message}`;
}

function validate(raw: unknown, where: string): FileConfig {
  const r = fileSchema.safeParse(raw, PLAIN);
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
