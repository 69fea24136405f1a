/*
 * Port kind `if`: an existing Linux interface (veth, NIC) through an
 * AF_PACKET socket (PacketPort).
 * Spec: if:NAME[=OFPORT][,mode=ring|mmsg|xdp], or { type: if, name: NAME, ofport: N, mode: ring }.
 * mode: the I/O mode (packet-port.ts): the kernel's TPACKET_V2 rings, or
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
 * The mode of an `if:` port without mode=: ring. Measured (BENCHMARKS.md,
 * 2026-12-03, `--only rings`, veth -> veth 64 B, interleaved medians on a
 * shared machine): the TPACKET_V2 rings deliver ~1.7x the C
 * recvmmsg/sendmmsg forwarder, ~1.8x mmsg and ~2.4x Open vSwitch netdev, with
 * the idle ping p50 of mmsg (~0.2 ms both), since the kernel hands each
 * frame over at once. (The TPACKET_V3 ring before was as fast, but its
 * blocks waited for a retire timer: ping p50 ~1.9 ms; mmsg stayed the
 * default then.) Cost: 9 MiB of ring per port (8 MiB rx, 1 MiB tx);
 * mode=mmsg keeps no fixed memory, for hosts with very many ports.
 */
export const IF_DEFAULT_MODE: PacketIoMode = 'ring';

export const ifKind: PortKind<PacketPort> = {
  kind: 'if',
  capabilities,
  spec: {
    ...interfaceNameSyntax('existing interface, AF_PACKET'),
    options: { mode: { values: PACKET_IO_MODES, help: `I/O: kernel rings (TPACKET_V2), recvmmsg/sendmmsg or AF_XDP; default ${IF_DEFAULT_MODE}` } },
  },
  open: (spec, ctx) =>
    PacketPort.open({
      name: spec.name, ofPort: spec.ofPort, pool: ctx.pool, burst: ctx.burst, vnetHdr: capabilities.vnetHdr,
      waitForInterface: capabilities.waitsForInterface,
      mode: (spec.options?.mode as PacketIoMode | undefined) ?? IF_DEFAULT_MODE,
      notice: ctx.notice,
    }),
};
