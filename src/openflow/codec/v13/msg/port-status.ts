/*
 * OFPT_PORT_STATUS (A.4.3) and the ofp_port structure (A.2.1) it carries;
 * ofp_port is also the entry of the PORT_DESC multipart reply.
 */

import { readString, u32, u48, w32, w48, writeString } from '../../bytes.js';
import { OFP_MAX_PORT_NAME_LEN, PORT, PORT_STATUS } from '../consts.js';
import { DecodeError, expectLen } from '../../decode-error.js';
import { OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

/** struct ofp_port. */
export interface PortDesc {
  portNo: number;
  /** 48-bit MAC as a number. */
  hwAddr: number;
  /** At most 15 bytes of UTF-8 on the wire (NUL-terminated field of 16). */
  name: string;
  /** OFPPC_* */
  config: number;
  /** OFPPS_* */
  state: number;
  /** OFPPF_* feature sets. */
  curr: number;
  advertised: number;
  supported: number;
  peer: number;
  /** kbps */
  currSpeed: number;
  maxSpeed: number;
}

/** Writes a 64-byte ofp_port at `o`; returns the end offset. */
export function encodePortDesc(p: PortDesc, b: Buffer, o: number): number {
  w32(b, o + PORT.portNo, p.portNo);
  b.fill(0, o + PORT.pad0, o + PORT.hwAddr);
  w48(b, o + PORT.hwAddr, p.hwAddr);
  b.fill(0, o + PORT.pad1, o + PORT.name);
  writeString(b, o + PORT.name, OFP_MAX_PORT_NAME_LEN, p.name);
  w32(b, o + PORT.config, p.config);
  w32(b, o + PORT.state, p.state);
  w32(b, o + PORT.curr, p.curr);
  w32(b, o + PORT.advertised, p.advertised);
  w32(b, o + PORT.supported, p.supported);
  w32(b, o + PORT.peer, p.peer);
  w32(b, o + PORT.currSpeed, p.currSpeed);
  w32(b, o + PORT.maxSpeed, p.maxSpeed);
  return o + PORT.SIZE;
}

/** Reads the ofp_port at `o`; the caller guarantees 64 bytes. */
export function decodePortDesc(b: Buffer, o: number): PortDesc {
  return {
    portNo: u32(b, o + PORT.portNo),
    hwAddr: u48(b, o + PORT.hwAddr),
    name: readString(b, o + PORT.name, OFP_MAX_PORT_NAME_LEN),
    config: u32(b, o + PORT.config),
    state: u32(b, o + PORT.state),
    curr: u32(b, o + PORT.curr),
    advertised: u32(b, o + PORT.advertised),
    supported: u32(b, o + PORT.supported),
    peer: u32(b, o + PORT.peer),
    currSpeed: u32(b, o + PORT.currSpeed),
    maxSpeed: u32(b, o + PORT.maxSpeed),
  };
}

export interface PortStatus {
  type: 'port_status';
  xid: number;
  /** OFPPR_* */
  reason: number;
  desc: PortDesc;
}

export function encodePortStatus(m: PortStatus, b: Buffer, off: number): number {
  writeHeader(b, off, OFPT.PORT_STATUS, PORT_STATUS.SIZE, m.xid);
  b[off + PORT_STATUS.reason] = m.reason;
  b.fill(0, off + PORT_STATUS.pad, off + PORT_STATUS.desc);
  return encodePortDesc(m.desc, b, off + PORT_STATUS.desc);
}

export function decodePortStatus(b: Buffer, off: number, len: number): PortStatus | DecodeError {
  return expectLen(off, len, PORT_STATUS.SIZE, 'port_status') ?? {
    type: 'port_status',
    xid: headerXid(b, off),
    reason: b[off + PORT_STATUS.reason],
    desc: decodePortDesc(b, off + PORT_STATUS.desc),
  };
}

export const portStatusCodec: MessageCodec<PortStatus> = {
  name: 'port_status',
  wireType: OFPT.PORT_STATUS,
  size: () => PORT_STATUS.SIZE,
  encode: encodePortStatus,
  decode: decodePortStatus,
};
