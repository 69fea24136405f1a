/*
 * OFPT_GET_CONFIG_REQUEST / OFPT_GET_CONFIG_REPLY / OFPT_SET_CONFIG (A.3.2):
 * fragment handling flags and miss_send_len. Whether the flags are
 * acceptable (OFPSCFC_BAD_FLAGS) is the channel's call.
 */

import { u16, w16 } from '../../bytes.js';
import { SWITCH_CONFIG } from '../consts.js';
import { DecodeError, expectLen } from '../../decode-error.js';
import { OFPT } from '../enums.js';
import { headerXid, writeHeader } from '../../header.js';
import { type HeaderOnly, type MessageCodec, headerOnlyCodec } from '../message-codec.js';

export type GetConfigRequest = HeaderOnly<'get_config_request'>;

interface SwitchConfig<T extends string> {
  type: T;
  xid: number;
  /** OFPC_FRAG_* */
  flags: number;
  missSendLen: number;
}
export type GetConfigReply = SwitchConfig<'get_config_reply'>;
export type SetConfig = SwitchConfig<'set_config'>;

export const getConfigRequestCodec = headerOnlyCodec<GetConfigRequest>('get_config_request', OFPT.GET_CONFIG_REQUEST);

function switchConfigCodec<M extends GetConfigReply | SetConfig>(
  name: M['type'],
  wireType: typeof OFPT.GET_CONFIG_REPLY | typeof OFPT.SET_CONFIG,
): MessageCodec<M> {
  return {
    name,
    wireType,
    size: () => SWITCH_CONFIG.SIZE,
    encode: (m, b, off) => {
      writeHeader(b, off, wireType, SWITCH_CONFIG.SIZE, m.xid);
      w16(b, off + SWITCH_CONFIG.flags, m.flags);
      w16(b, off + SWITCH_CONFIG.missSendLen, m.missSendLen);
      return off + SWITCH_CONFIG.SIZE;
    },
    decode: (b, off, len): M | DecodeError =>
      expectLen(off, len, SWITCH_CONFIG.SIZE, name) ??
      ({
        type: name,
        xid: headerXid(b, off),
        flags: u16(b, off + SWITCH_CONFIG.flags),
        missSendLen: u16(b, off + SWITCH_CONFIG.missSendLen),
      } as M),
  };
}

export const getConfigReplyCodec = switchConfigCodec<GetConfigReply>('get_config_reply', OFPT.GET_CONFIG_REPLY);
export const setConfigCodec = switchConfigCodec<SetConfig>('set_config', OFPT.SET_CONFIG);
