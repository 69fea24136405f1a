/*
 * OFPT_EXPERIMENTER (A.5.4): experimenter id, experimenter-defined type and
 * opaque data. This switch supports no experimenter extension; the channel
 * answers OFPET_BAD_REQUEST/OFPBRC_BAD_EXPERIMENTER, but the message itself
 * decodes fine.
 */

import { u32, w32 } from '../../bytes.js';
import { EXPERIMENTER } from '../consts.js';
import { DecodeError, expectMinLen } from '../../decode-error.js';
import { OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

export interface Experimenter {
  type: 'experimenter';
  xid: number;
  experimenter: number;
  expType: number;
  data: Uint8Array;
}

export function sizeExperimenter(m: Experimenter): number {
  return EXPERIMENTER.SIZE + m.data.length;
}

export function encodeExperimenter(m: Experimenter, b: Buffer, off: number): number {
  const len = sizeExperimenter(m);
  writeHeader(b, off, OFPT.EXPERIMENTER, len, m.xid);
  w32(b, off + EXPERIMENTER.experimenter, m.experimenter);
  w32(b, off + EXPERIMENTER.expType, m.expType);
  b.set(m.data, off + EXPERIMENTER.SIZE);
  return off + len;
}

export function decodeExperimenter(b: Buffer, off: number, len: number): Experimenter | DecodeError {
  return expectMinLen(off, len, EXPERIMENTER.SIZE, 'experimenter') ?? {
    type: 'experimenter',
    xid: headerXid(b, off),
    experimenter: u32(b, off + EXPERIMENTER.experimenter),
    expType: u32(b, off + EXPERIMENTER.expType),
    data: b.subarray(off + EXPERIMENTER.SIZE, off + len),
  };
}

export const experimenterCodec: MessageCodec<Experimenter> = {
  name: 'experimenter',
  wireType: OFPT.EXPERIMENTER,
  size: sizeExperimenter,
  encode: encodeExperimenter,
  decode: decodeExperimenter,
};
