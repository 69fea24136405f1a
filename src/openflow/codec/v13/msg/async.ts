/*
 * OFPT_GET_ASYNC_REQUEST / OFPT_GET_ASYNC_REPLY / OFPT_SET_ASYNC (A.3.10):
 * which asynchronous messages a connection wants, per role.
 *
 * Each mask is [equal/master, slave]: element 0 applies when the connection
 * is equal or master, element 1 when it is slave. Bit n set = reason n
 * (OFPR_* for packet-in, OFPPR_* for port-status, OFPRR_* for flow-removed)
 * is sent.
 */

import { u32, w32 } from '../../bytes.js';
import { ASYNC_CONFIG } from '../consts.js';
import { DecodeError, expectLen } from '../../decode-error.js';
import { OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import { type HeaderOnly, type MessageCodec, headerOnlyCodec } from '../message-codec.js';

export type GetAsyncRequest = HeaderOnly<'get_async_request'>;

/** [equal/master, slave] */
export type RoleMasks = [number, number];

interface AsyncConfig<T extends string> {
  type: T;
  xid: number;
  packetInMask: RoleMasks;
  portStatusMask: RoleMasks;
  flowRemovedMask: RoleMasks;
}
export type GetAsyncReply = AsyncConfig<'get_async_reply'>;
export type SetAsync = AsyncConfig<'set_async'>;

export const getAsyncRequestCodec = headerOnlyCodec<GetAsyncRequest>('get_async_request', OFPT.GET_ASYNC_REQUEST);

function asyncCodec<M extends GetAsyncReply | SetAsync>(
  name: M['type'],
  wireType: typeof OFPT.GET_ASYNC_REPLY | typeof OFPT.SET_ASYNC,
): MessageCodec<M> {
  return {
    name,
    wireType,
    size: () => ASYNC_CONFIG.SIZE,
    encode: (m, b, off) => {
      writeHeader(b, off, wireType, ASYNC_CONFIG.SIZE, m.xid);
      w32(b, off + ASYNC_CONFIG.packetInMask, m.packetInMask[0]);
      w32(b, off + ASYNC_CONFIG.packetInMask + 4, m.packetInMask[1]);
      w32(b, off + ASYNC_CONFIG.portStatusMask, m.portStatusMask[0]);
      w32(b, off + ASYNC_CONFIG.portStatusMask + 4, m.portStatusMask[1]);
      w32(b, off + ASYNC_CONFIG.flowRemovedMask, m.flowRemovedMask[0]);
      w32(b, off + ASYNC_CONFIG.flowRemovedMask + 4, m.flowRemovedMask[1]);
      return off + ASYNC_CONFIG.SIZE;
    },
    decode: (b, off, len): M | DecodeError =>
      expectLen(off, len, ASYNC_CONFIG.SIZE, name) ??
      ({
        type: name,
        xid: headerXid(b, off),
        packetInMask: [u32(b, off + ASYNC_CONFIG.packetInMask), u32(b, off + ASYNC_CONFIG.packetInMask + 4)],
        portStatusMask: [u32(b, off + ASYNC_CONFIG.portStatusMask), u32(b, off + ASYNC_CONFIG.portStatusMask + 4)],
        flowRemovedMask: [u32(b, off + ASYNC_CONFIG.flowRemovedMask), u32(b, off + ASYNC_CONFIG.flowRemovedMask + 4)],
      } as M),
  };
}

export const getAsyncReplyCodec = asyncCodec<GetAsyncReply>('get_async_reply', OFPT.GET_ASYNC_REPLY);
export const setAsyncCodec = asyncCodec<SetAsync>('set_async', OFPT.SET_ASYNC);
