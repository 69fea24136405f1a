/*
 * OFPT_BARRIER_REQUEST / OFPT_BARRIER_REPLY (A.3.8): header-only; the reply
 * carries the request's xid once every earlier message has been processed.
 */

import { OFPT } from '../enums.js';
import { type HeaderOnly, headerOnlyCodec } from '../message-codec.js';

export type BarrierRequest = HeaderOnly<'barrier_request'>;
export type BarrierReply = HeaderOnly<'barrier_reply'>;

export const barrierRequestCodec = headerOnlyCodec<BarrierRequest>('barrier_request', OFPT.BARRIER_REQUEST);
export const barrierReplyCodec = headerOnlyCodec<BarrierReply>('barrier_reply', OFPT.BARRIER_REPLY);
