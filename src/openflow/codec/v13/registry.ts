/*
 * The table from OFPT_* wire type (and from message name) to the codec of
 * that message family (after Ryu's _register_parser): one entry per type,
 * filled at load; a second registration for a type or name throws, so a
 * copy-paste slip fails when the module loads rather than on the wire.
 */

import type { MessageCodec } from './message-codec.js';
import type { OfpMessage } from './message.js';
import { getAsyncReplyCodec, getAsyncRequestCodec, setAsyncCodec } from './msg/async.js';
import { barrierReplyCodec, barrierRequestCodec } from './msg/barrier.js';
import { getConfigReplyCodec, getConfigRequestCodec, setConfigCodec } from './msg/config.js';
import { echoReplyCodec, echoRequestCodec } from './msg/echo.js';
import { errorCodec } from './msg/error.js';
import { experimenterCodec } from './msg/experimenter.js';
import { featuresReplyCodec, featuresRequestCodec } from './msg/features.js';
import { flowModCodec } from './msg/flow-mod.js';
import { flowRemovedCodec } from './msg/flow-removed.js';
import { groupModCodec } from './msg/group-mod.js';
import { helloCodec } from './msg/hello.js';
import { meterModCodec } from './msg/meter-mod.js';
import { multipartReplyCodec, multipartRequestCodec } from './msg/multipart.js';
import { packetInCodec } from './msg/packet-in.js';
import { packetOutCodec } from './msg/packet-out.js';
import { portModCodec } from './msg/port-mod.js';
import { portStatusCodec } from './msg/port-status.js';
import { queueGetConfigReplyCodec, queueGetConfigRequestCodec } from './msg/queue-config.js';
import { roleReplyCodec, roleRequestCodec } from './msg/role.js';
import { tableModCodec } from './msg/table-mod.js';

type AnyCodec = MessageCodec<OfpMessage>;

const byWire: (AnyCodec | undefined)[] = Array.from({ length: 256 }, () => undefined);
const byName = new Map<string, AnyCodec>();

/** Registers a message codec; a duplicate wire type or name throws (a programming error, caught at load). */
export function registerMessage<M extends OfpMessage>(c: MessageCodec<M>): void {
  if (byWire[c.wireType] !== undefined) throw new Error(`openflow/registry: wire type ${c.wireType} registered twice (${c.name})`);
  if (byName.has(c.name)) throw new Error(`openflow/registry: message ${c.name} registered twice`);
  byWire[c.wireType] = c;
  byName.set(c.name, c);
}

/** The codec for an OFPT_* value, or undefined for a type OF 1.3 does not define. */
export function codecForWireType(type: number): AnyCodec | undefined {
  return byWire[type & 0xff];
}

/** The codec for a message name; undefined for an unknown name. */
export function codecForName(name: string): AnyCodec | undefined {
  return byName.get(name);
}

/** Every registered message name (for tests). */
export function registeredNames(): string[] {
  return [...byName.keys()];
}

const ALL = [
  helloCodec, errorCodec, echoRequestCodec, echoReplyCodec, experimenterCodec, featuresRequestCodec, featuresReplyCodec,
  getConfigRequestCodec, getConfigReplyCodec, setConfigCodec, packetInCodec, flowRemovedCodec, portStatusCodec,
  packetOutCodec, flowModCodec, groupModCodec, portModCodec, tableModCodec, multipartRequestCodec, multipartReplyCodec,
  barrierRequestCodec, barrierReplyCodec, queueGetConfigRequestCodec, queueGetConfigReplyCodec, roleRequestCodec,
  roleReplyCodec, getAsyncRequestCodec, getAsyncReplyCodec, setAsyncCodec, meterModCodec,
] as const;
for (const c of ALL) registerMessage(c as MessageCodec<OfpMessage>);
