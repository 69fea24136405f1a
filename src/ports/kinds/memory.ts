/*
 * Port kind `memory`: an in-process port (MemoryPort) for tests and the
 * in-process benchmark. Not offered by --port or config files (spec null);
 * code creates it, directly or through openPort.
 */

import { MemoryPort } from '../memory-port.js';
import type { PortCapabilities, PortKind } from '../port-kind.js';

const capabilities: PortCapabilities = {
  vnetHdr: true,
  offloadFlag: false,
  linkState: 'in-process',
  createsDevice: false,
  netnsMovable: false,
  waitsForInterface: false,
  exclusive: false,
};

export const memoryKind: PortKind<MemoryPort> = {
  kind: 'memory',
  capabilities,
  spec: null,
  open: (spec) => new MemoryPort({ name: spec.name, ofPort: spec.ofPort, vnetHdr: capabilities.vnetHdr }),
};
