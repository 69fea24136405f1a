/*
 * OFPT_TABLE_MOD (A.3.3): per-table configuration. In OF 1.3 the only config
 * bits (OFPTC_DEPRECATED_MASK) are deprecated; the message stays valid.
 */

import { u32, w32 } from '../../bytes.js';
import { TABLE_MOD } from '../consts.js';
import { DecodeError, expectLen } from '../../decode-error.js';
import { OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

export interface TableMod {
  type: 'table_mod';
  xid: number;
  /** A table id or OFPTT_ALL. */
  tableId: number;
  config: number;
}

export function encodeTableMod(m: TableMod, b: Buffer, off: number): number {
  writeHeader(b, off, OFPT.TABLE_MOD, TABLE_MOD.SIZE, m.xid);
  b[off + TABLE_MOD.tableId] = m.tableId;
  b.fill(0, off + TABLE_MOD.pad, off + TABLE_MOD.config);
  w32(b, off + TABLE_MOD.config, m.config);
  return off + TABLE_MOD.SIZE;
}

export function decodeTableMod(b: Buffer, off: number, len: number): TableMod | DecodeError {
  return expectLen(off, len, TABLE_MOD.SIZE, 'table_mod') ?? {
    type: 'table_mod',
    xid: headerXid(b, off),
    tableId: b[off + TABLE_MOD.tableId],
    config: u32(b, off + TABLE_MOD.config),
  };
}

export const tableModCodec: MessageCodec<TableMod> = {
  name: 'table_mod',
  wireType: OFPT.TABLE_MOD,
  size: () => TABLE_MOD.SIZE,
  encode: encodeTableMod,
  decode: decodeTableMod,
};
