/*
 * The version axis of the codec: what one OpenFlow wire version provides.
 * Each version lives in its own folder (v13/ today) and exports one
 * WireVersion; versions.ts lists them. Adding OpenFlow 1.0, 1.4 or 1.5 is a
 * folder beside v13/ (its enums, structs, message families, registry) plus
 * one row in versions.ts; the translation layer (../ofproto) then maps the
 * new version's messages onto the same datapath.
 */

import type { MessageBase, MessageCodec } from './v13/message-codec.js';

export interface WireVersion {
  /** ofp_header.version */
  readonly version: number;
  readonly name: string;
  /** The codec of an OFPT_* value of this version, or undefined. */
  codecForWireType(type: number): MessageCodec<MessageBase> | undefined;
  /** The codec of a message name of this version, or undefined. */
  codecForName(name: string): MessageCodec<MessageBase> | undefined;
}
