/*
 * Port specs, the --port / `ports:` vocabulary: a spec string
 * `KIND:NAME[=OFPORT][,vlan=ID | ,trunks=ID,ID...][,KEY=VALUE]` or a mapping
 * `{ type, name, ofport, vlan | trunks, KEY }`, parsed into a PortEntry
 * (numbers are assigned later, config.ts).
 *
 * Port kinds come from the registry (src/ports/kinds.ts): the spec prefixes,
 * each kind's NAME check, mapping keys and own options, and the messages
 * listing them; nothing here names a kind but the local port's tap.
 *
 * Invariants: every kind takes the same VLAN options (the learning switch's,
 * OVS's tag/trunks): ids 1..4094, vlan or trunks, never both; trunks come out
 * ascending without duplicates. An OpenFlow port number is 1..OFPP_MAX. The
 * local port (`--local-port tap:NAME`) is a TAP numbered PORT_LOCAL
 * (OpenFlow's LOCAL), never given a number of its own. Every refusal is one
 * sentence (config-errors.ts).
 */

import { z } from 'zod';
import { didYouMean } from './did-you-mean.js';
import { VLAN_ID_MAX, VLAN_ID_MIN } from './datapath/learning/vlan.js';
import { SPEC_PORT_KINDS, type PortKindName, type SpecPortKind } from './ports/kinds.js';
import { ConfigError, PLAIN, unknownKeys, valueWords } from './config-errors.js';

/** Highest physical port number in OpenFlow 1.3 (OFPP_MAX). */
const OFPP_MAX = 0xffffff00;

/** The learning switch's VLAN options, after a comma in a port spec. */
const VLAN_OPTIONS_USAGE = 'vlan=ID (access port) or trunks=ID,ID... (trunk port)';

/** `tap:NAME[=OFPORT] (TAP, created if missing) or if:NAME[=OFPORT] (...)`, then the VLAN options: the --port help, from the registry. */
export const PORT_SPEC_HELP = `${SPEC_PORT_KINDS.map((k) => `${k.kind}:NAME[=OFPORT] (${k.spec.help})`).join(' or ')}, optionally followed by ,vlan=ID (access port) or ,trunks=ID,ID... (trunk port)${SPEC_PORT_KINDS.flatMap((k) => Object.entries(k.spec.options ?? {}).map(([key, o]) => `; ${k.kind}: ports also ,${key}=${o.values.join('|')} (${o.help})`)).join('')}`;
const PORT_SPEC_USAGE = SPEC_PORT_KINDS.map((k) => `${k.kind}:NAME[=OFPORT]`).join(' or ');
export const PORT_FORMS = `port specs (${PORT_SPEC_USAGE}) or mappings ({ type: ${SPEC_PORT_KINDS[0].kind}, name: NAME, ofport: N })`;

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
export const portEntry = z.unknown().transform((v, ctx) => {
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
export const localPortEntry = portEntry.superRefine((p, ctx) => {
  if (p.kind !== 'tap') ctx.addIssue({ code: 'custom', message: `the local port must be a TAP (tap:NAME), not ${p.kind}:${p.name}` });
  else if (p.ofPort !== undefined) ctx.addIssue({ code: 'custom', message: `the local port is numbered LOCAL; it takes no OpenFlow port number (drop "=${p.ofPort}")` });
});
