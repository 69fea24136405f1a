/*
 * virtio_net_hdr: the 10-byte header the kernel puts before each frame on a
 * TAP opened with IFF_VNET_HDR and on a packet socket with PACKET_VNET_HDR.
 * It carries checksum and segmentation offload state, so that a TCP segment
 * whose checksum the sender left to "hardware" (CHECKSUM_PARTIAL) or a 64 KiB
 * GSO super-frame crosses the switch intact. Dropping this header is what
 * broke TCP through LINC, ofsoftswitch13 and OVS netdev on tap/veth.
 *
 * Layout (host byte order, little-endian on every Linux target we build for):
 *   u8 flags | u8 gso_type | u16 hdr_len | u16 gso_size | u16 csum_start | u16 csum_offset
 * csum_start is relative to the first byte of the Ethernet frame. gso_size and
 * gso_type UDP (3, UFO) have no constant: nothing here reads the segment size,
 * and every gso_type other than NONE is handled alike.
 */

export const VNET_HDR_LEN = 10;

export const VNET_FLAGS = 0;
export const VNET_GSO_TYPE = 1;
export const VNET_HDR_LEN_OFF = 2;
export const VNET_CSUM_START = 6;
export const VNET_CSUM_OFFSET = 8;

export const VNET_F_NEEDS_CSUM = 1;
export const VNET_F_DATA_VALID = 2;

export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_TCPV6 = 4;
export const VNET_GSO_UDP_L4 = 5;
export const VNET_GSO_ECN = 0x80;
