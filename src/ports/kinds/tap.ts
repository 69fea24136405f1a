/*
 * Port kind `tap`: a Linux TAP device (TapPort), created when missing.
 * Spec: tap:NAME[=OFPORT][,io=uring|rw|auto], or { type: tap, name: NAME, ofport: N, io: MODE }
 * (io: src/ports/tap-io.ts; default auto, io_uring when available).
 */

import type { PortCapabilities, PortKind } from '../port-kind.js';
import { TAP_IO_MODES, type TapIoMode } from '../tap-io.js';
import { TapPort } from '../tap-port.js';
import { interfaceNameSyntax } from './interface-name.js';

const capabilities: PortCapabilities = {
  vnetHdr: true,
  offloadFlag: true,
  linkState: 'device-fd',
  createsDevice: true,
  netnsMovable: true,
  waitsForInterface: false,
  exclusive: true,
};

export const tapKind: PortKind<TapPort> = {
  kind: 'tap',
  capabilities,
  spec: {
    ...interfaceNameSyntax('TAP, created if missing'),
    options: { io: { values: TAP_IO_MODES, help: 'I/O: io_uring, read/write, or auto (io_uring when available; the default)' } },
  },
  open: (spec, ctx) =>
    TapPort.open({ name: spec.name, ofPort: spec.ofPort, pool: ctx.pool, burst: ctx.burst, vnetHdr: capabilities.vnetHdr, offloads: ctx.offload, io: spec.options?.io as TapIoMode | undefined }),
};
