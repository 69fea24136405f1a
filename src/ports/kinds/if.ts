/*
 * Port kind `if`: an existing Linux interface (veth, NIC) through an
 * AF_PACKET socket (PacketPort).
 * Spec: if:NAME[=OFPORT][,mode=ring|mmsg|xdp], or { type: if, name: NAME, ofport: N, mode: ring }.
 * mode: the I/O mode (packet-port.ts): the kernel's TPACKET_V3 rings, or
 * recvmmsg/sendmmsg, or AF_XDP (copy mode, generic XDP); default IF_DEFAULT_MODE (see BENCHMARKS.md for why).
 * An interface that does not exist yet (a VM not started) is waited for:
 * the port is kept, link down, and binds when the interface appears.
 */

import { PACKET_IO_MODES, PacketPort, type PacketIoMode } from '../packet-port.js';
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

/**
 * The mode of an `if:` port without mode=: mmsg. Measured (BENCHMARKS.md,
 * 2026-12-03, `--only rings`): ring delivers ~2.1x mmsg on veths, but its
 * receive blocks are handed over only when full or after their retire timer,
 * which puts the idle ping p50 at ~1.9 ms against ~0.28 ms: faster, not a
 * safe default for latency.
 */
export const IF_DEFAULT_MODE: PacketIoMode = 'mmsg';

export const ifKind: PortKind<PacketPort> = {
  kind: 'if',
  capabilities,
  spec: {
    ...interfaceNameSyntax('existing interface, AF_PACKET'),
    options: { mode: { values: PACKET_IO_MODES, help: `I/O: kernel rings (TPACKET_V3), recvmmsg/sendmmsg or AF_XDP; default ${IF_DEFAULT_MODE}` } },
  },
  open: (spec, ctx) =>
    PacketPort.open({
      name: spec.name, ofPort: spec.ofPort, pool: ctx.pool, burst: ctx.burst, vnetHdr: capabilities.vnetHdr,
      waitForInterface: capabilities.waitsForInterface,
      mode: (spec.options?.mode as PacketIoMode | undefined) ?? IF_DEFAULT_MODE,
      notice: ctx.notice,
    }),
};
