/*
 * Port kind `if`: an existing Linux interface (veth, NIC) through an
 * AF_PACKET socket (PacketPort).
 * Spec: if:NAME[=OFPORT], or { type: if, name: NAME, ofport: N }.
 * An interface that does not exist yet (a VM not started) is waited for:
 * the port is kept, link down, and binds when the interface appears.
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
  waitsForInterface: true,
  exclusive: true,
};

export const ifKind: PortKind<PacketPort> = {
  kind: 'if',
  capabilities,
  spec: interfaceNameSyntax('existing interface, AF_PACKET'),
  open: (spec, ctx) =>
    PacketPort.open({
      name: spec.name, ofPort: spec.ofPort, pool: ctx.pool, burst: ctx.burst, vnetHdr: capabilities.vnetHdr,
      waitForInterface: capabilities.waitsForInterface,
    }),
};
