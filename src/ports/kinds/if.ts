/*
 * Port kind `if`: an existing Linux interface (veth, NIC) through an
 * AF_PACKET socket (PacketPort).
 * Spec: if:NAME[=OFPORT], or { type: if, name: NAME, ofport: N }.
 */

import { PacketPort } from '../packet-port.js';
import type { PortCapabilities, PortKind } from '../port-kind.js';
import { interfaceNameSyntax } from './interface-name.js';

const capabilities: PortCapabilities = {
  vnetHdr: true,
  offloadFlag: false,
  linkState: 'interface-name',
  createsDevice: false,
  netnsMovable: false,
};

export const ifKind: PortKind<PacketPort> = {
  kind: 'if',
  capabilities,
  spec: interfaceNameSyntax('existing interface, AF_PACKET'),
  open: (spec, ctx) => PacketPort.open({ name: spec.name, ofPort: spec.ofPort, pool: ctx.pool, burst: ctx.burst, vnetHdr: capabilities.vnetHdr }),
};
