/*
 * OFPT_ROLE_REQUEST / OFPT_ROLE_REPLY (A.3.9): controller role (nochange,
 * equal, master, slave) with the generation id that orders master elections.
 * A role value beyond OFPCR_ROLE_SLAVE is OFPET_ROLE_REQUEST_FAILED/BAD_ROLE.
 */

import { u32, u64, w32, w64 } from '../../bytes.js';
import { ROLE_REQUEST } from '../consts.js';
import { DecodeError, expectLen } from '../../decode-error.js';
import { OFPCR_ROLE, OFPET, OFPRRFC, OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import type { MessageCodec } from '../message-codec.js';

interface RoleMsg<T extends string> {
  type: T;
  xid: number;
  /** OFPCR_ROLE_* */
  role: number;
  generationId: bigint;
}
export type RoleRequest = RoleMsg<'role_request'>;
export type RoleReply = RoleMsg<'role_reply'>;

function roleCodec<M extends RoleRequest | RoleReply>(
  name: M['type'],
  wireType: typeof OFPT.ROLE_REQUEST | typeof OFPT.ROLE_REPLY,
): MessageCodec<M> {
  return {
    name,
    wireType,
    size: () => ROLE_REQUEST.SIZE,
    encode: (m, b, off) => {
      writeHeader(b, off, wireType, ROLE_REQUEST.SIZE, m.xid);
      w32(b, off + ROLE_REQUEST.role, m.role);
      b.fill(0, off + ROLE_REQUEST.pad, off + ROLE_REQUEST.generationId);
      w64(b, off + ROLE_REQUEST.generationId, m.generationId);
      return off + ROLE_REQUEST.SIZE;
    },
    decode: (b, off, len): M | DecodeError => {
      const bad = expectLen(off, len, ROLE_REQUEST.SIZE, name);
      if (bad) return bad;
      const role = u32(b, off + ROLE_REQUEST.role);
      if (role > OFPCR_ROLE.SLAVE) {
        return new DecodeError(OFPET.ROLE_REQUEST_FAILED, OFPRRFC.BAD_ROLE, off + ROLE_REQUEST.role, `role ${role}`);
      }
      return { type: name, xid: headerXid(b, off), role, generationId: u64(b, off + ROLE_REQUEST.generationId) } as M;
    },
  };
}

export const roleRequestCodec = roleCodec<RoleRequest>('role_request', OFPT.ROLE_REQUEST);
export const roleReplyCodec = roleCodec<RoleReply>('role_reply', OFPT.ROLE_REPLY);
