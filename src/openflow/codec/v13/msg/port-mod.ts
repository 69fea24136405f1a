/*
 * OFPT_PORT_MOD (A.3.4.3): change a port's config bits (under `mask`) and
 * advertised features. hw_addr must match the port's (the pipeline answers
 * OFPPMFC_BAD_HW_ADDR otherwise).
 */

import { u32, u48, w32, w48 } from '../../bytes.js';
import { PORT_MOD } from '../consts.js';
import { DecodeError, expectLen } from '../../decode-error.js';
import { OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

export interface PortMod {
  type: 'port_mod';
  xid: number;
  portNo: number;
  /** 48-bit MAC as a number. */
  hwAddr: number;
  /** OFPPC_* bits to set (those under `mask`). */
  config: number;
  mask: number;
  /** OFPPF_* bits; 0 = no change. */
  advertise: number;
}

export function encodePortMod(m: PortMod, b: Buffer, off: number): number {
  writeHeader(b, off, OFPT.PORT_MOD, PORT_MOD.SIZE, m.xid);
  b.fill(0, off + 8, off + PORT_MOD.SIZE);
  w32(b, off + PORT_MOD.portNo, m.portNo);
  w48(b, off + PORT_MOD.hwAddr, m.hwAddr);
  w32(b, off + PORT_MOD.config, m.config);
  w32(b, off + PORT_MOD.mask, m.mask);
  w32(b, off + PORT_MOD.advertise, m.advertise);
  return off + PORT_MOD.SIZE;
}

export function decodePortMod(b: Buffer, off: number, len: number): PortMod | DecodeError {
  return expectLen(off, len, PORT_MOD.SIZE, 'port_mod') ?? {
    type: 'port_mod',
    xid: headerXid(b, off),
    portNo: u32(b, off + PORT_MOD.portNo),
    hwAddr: u48(b, off + PORT_MOD.hwAddr),
    config: u32(b, off + PORT_MOD.config),
    mask: u32(b, off + PORT_MOD.mask),
    advertise: u32(b, off + PORT_MOD.advertise),
  };
}

export const portModCodec: MessageCodec<PortMod> = {
  name: 'port_mod',
  wireType: OFPT.PORT_MOD,
  size: () => PORT_MOD.SIZE,
  encode: encodePortMod,
  decode: decodePortMod,
};
