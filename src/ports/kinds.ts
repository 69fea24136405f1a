/*
 * The port-kind registry: every kind of port, one row each, declared in its
 * own file under src/ports/kinds/ (see port-kind.ts for what a row holds).
 * Spec parsing (config-ports.ts) and the config schema (config-schema.ts), the --port help (cli.ts)
 * and opening ports (switch.ts) all derive from this list, so adding a kind
 * is one file plus one row here.
 *
 * Invariants
 * - Kind names are unique; registry order is the order --help and error
 *   messages list the kinds in.
 * - openPort never throws: it returns the Port or a PortOpenError naming it.
 */

import { ifKind } from './kinds/if.js';
import { memoryKind } from './kinds/memory.js';
import { tapKind } from './kinds/tap.js';
import { PortOpenError } from './open-errors.js';
import type { PortKind, PortOpenContext, PortSpec, PortSpecSyntax } from './port-kind.js';
import type { Port } from './port.js';

export const PORT_KINDS = [tapKind, ifKind, memoryKind] as const;

/** The name of a registered kind: 'tap' | 'if' | 'memory'. */
export type PortKindName = (typeof PORT_KINDS)[number]['kind'];

/** A kind --port and config files may name. */
export type SpecPortKind = PortKind & { readonly kind: PortKindName; readonly spec: PortSpecSyntax };

/** The kinds --port and config files may name, in registry order. */
export const SPEC_PORT_KINDS: readonly SpecPortKind[] = PORT_KINDS.filter((k): k is typeof k & SpecPortKind => k.spec !== null);

const byName = new Map<string, PortKind>(PORT_KINDS.map((k) => [k.kind, k]));

/** The registered kind of that name, if any. */
export function findPortKind(name: string): PortKind | undefined {
  return byName.get(name);
}

/** Open one port of the kind its spec names: the Port, or a PortOpenError naming it (never throws). */
export function openPort(spec: PortSpec, ctx: PortOpenContext): Port | PortOpenError {
  try {
    const kind = findPortKind(spec.kind);
    if (kind === undefined) throw new Error(`there is no port kind "${spec.kind}"`);
    return kind.open(spec, ctx);
  } catch (e) {
    if (e instanceof PortOpenError) return e;
    return new PortOpenError(`cannot open port ${spec.kind}:${spec.name}: ${e instanceof Error ? e.message : String(e)}`, 'EIO', 5, 'open', spec.name);
  }
}
