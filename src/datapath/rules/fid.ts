/*
 * Field ids of the datapath (Fid) and the fields a set-field op may write.
 * The ids are the OXM field numbers, so ops carry the same number the
 * controller sent; the OpenFlow translation checks that at load.
 */

/** Field ids, as a const enum for the hot path. */
export const enum Fid {
  InPort = 0, InPhyPort = 1, Metadata = 2, EthDst = 3, EthSrc = 4, EthType = 5, VlanVid = 6, VlanPcp = 7,
  IpDscp = 8, IpEcn = 9, IpProto = 10, Ipv4Src = 11, Ipv4Dst = 12, TcpSrc = 13, TcpDst = 14, UdpSrc = 15,
  UdpDst = 16, SctpSrc = 17, SctpDst = 18, Icmpv4Type = 19, Icmpv4Code = 20, ArpOp = 21, ArpSpa = 22,
  ArpTpa = 23, ArpSha = 24, ArpTha = 25, Ipv6Src = 26, Ipv6Dst = 27, Ipv6Flabel = 28, Icmpv6Type = 29,
  Icmpv6Code = 30, Ipv6NdTarget = 31, Ipv6NdSll = 32, Ipv6NdTll = 33, MplsLabel = 34, MplsTc = 35,
  MplsBos = 36, PbbIsid = 37, TunnelId = 38, Ipv6Exthdr = 39,
}
/** Fields a set-field action may write (the others are refused with OFPBAC_BAD_SET_TYPE). */
export const SETTABLE_FIELDS: ReadonlySet<number> = new Set([
  Fid.Metadata, Fid.EthDst, Fid.EthSrc, Fid.VlanVid, Fid.VlanPcp, Fid.IpDscp, Fid.IpEcn, Fid.Ipv4Src, Fid.Ipv4Dst,
  Fid.TcpSrc, Fid.TcpDst, Fid.UdpSrc, Fid.UdpDst, Fid.SctpSrc, Fid.SctpDst, Fid.Icmpv4Type, Fid.Icmpv4Code, Fid.ArpOp,
  Fid.ArpSpa, Fid.ArpTpa, Fid.ArpSha, Fid.ArpTha, Fid.Ipv6Src, Fid.Ipv6Dst, Fid.Ipv6Flabel, Fid.Icmpv6Type,
  Fid.Icmpv6Code, Fid.Ipv6NdTarget, Fid.Ipv6NdSll, Fid.Ipv6NdTll, Fid.MplsLabel, Fid.MplsTc, Fid.TunnelId,
]);
