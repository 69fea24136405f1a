/*
 * OpenFlow 1.3 (wire version 0x04) as one row of the codec's version axis.
 */

import type { WireVersion } from '../wire-version.js';
import { OFP_VERSION } from './enums.js';
import { codecForName, codecForWireType } from './registry.js';

export const OPENFLOW_13: WireVersion = {
  version: OFP_VERSION,
  name: 'OpenFlow 1.3',
  codecForWireType: (type) => codecForWireType(type),
  codecForName: (name) => codecForName(name),
};
