/*
 * The zod schema of the configuration: what the YAML config file may say,
 * and the command-line flags once config.ts has put them under the same keys.
 * validate() is the one way in; its refusals name the key (`config file
 * PATH: key: ...` or `option key: ...`).
 *
 * YAML keys are the long flag names: ports, local-port, burst, datapath-id,
 * log-level, pool-slots, offload, mac-aging, mac-table-size, metrics,
 * admin-socket, busy-poll, rx-usecs, adaptive-rx, megaflow; and for OpenFlow
 * controllers (one `--controller` flag per entry), listen (one `--listen` per
 * entry), fail-mode, inactivity-probe, max-backoff; the peer limits
 * handshake-timeout, listen-max-connections, controller-rate-limit,
 * controller-burst-limit; and the TLS files of ssl:/pssl: targets
 * private-key, certificate, ca-cert.
 *
 * Invariants: every key is optional here (defaults are config.ts's), an
 * unknown key is refused, and a value is checked alone: rules across keys
 * (TLS files together, burst limit needs a rate, busy-poll without a window)
 * are config.ts's.
 */

import { z } from 'zod';
import { didYouMean } from './did-you-mean.js';
import { parseControllerTarget, parseListenTarget } from './openflow/transport/connections.js';
import { MAX_RX_USECS } from './datapath/rx-moderation.js';
import { MAX_BURST } from './ports/port.js';
import { LOG_LEVELS } from './stats/log.js';
import { ConfigError, PLAIN, unknownKeys, valueWords } from './config-errors.js';
import { localPortEntry, PORT_FORMS, portEntry } from './config-ports.js';

export const FAIL_MODES = ['standalone', 'secure'] as const;

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

/** The keys a config file may have. */
export const CONFIG_FILE_KEYS = Object.keys(fileSchema.shape);

/** A validated config file; `source` is the file it was read from (messages name it). */
export type FileConfig = z.output<typeof fileSchema> & { source?: string };

/** `where` is `config file PATH:` or `option`; the key follows it, then the message. */
function describe(issue: z.core.$ZodIssue, where: string): string {
  const key = issue.path.length === 0 ? '' : issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
  const head = key ? `${where} ${key}` : where.replace(/:$/, '');
  if (issue.code === 'unrecognized_keys') return `${head}: ${unknownKeys(issue.keys, CONFIG_FILE_KEYS)}`;
  return `${head}: ${issue.message}`;
}

export function validate(raw: unknown, where: string): FileConfig {
  const r = fileSchema.safeParse(raw, PLAIN);
  if (!r.success) throw new ConfigError(describe(r.error.issues[0], where));
  return r.data;
}
