/*
 * PortVlan: a port's VLAN membership for the learning switch (NORMAL), the
 * way Open vSwitch's Port `tag` / `trunks` columns behave:
 *
 *   access port (vlan=N)       carries VLAN N untagged. A frame received with
 *                              a tag of non-zero VID is dropped; an untagged
 *                              or priority-tagged (VID 0) frame belongs to N.
 *                              Frames leave it without a tag.
 *   trunk port (trunks=N,M..)  carries the listed VLANs tagged. A frame in
 *                              any other VLAN is dropped, and an untagged
 *                              frame counts as VLAN 0, which a list never
 *                              holds (ids are 1..4094). Frames leave tagged.
 *   no VLAN configuration      (DpPort.vlan === null) trunks every VLAN and
 *                              forwards frames with the tags they have: what
 *                              the switch did before VLANs existed.
 *
 * Invariants
 * - Immutable once built; `member` has exactly the port's VLANs set (one
 *   VLAN for an access port, never VID 0 or 4095).
 * - Built on the slow path (configuration) and installed on a DpPort by
 *   NormalSwitch.setPortVlan; the datapath only reads `access` and
 *   `member[vid]`.
 */

/** Lowest and highest VLAN id a port may be configured with (0 and 4095 are reserved by 802.1Q). */
export const VLAN_ID_MIN = 1;
export const VLAN_ID_MAX = 4094;

/** The VLAN options of a port as configured: at most one of them. */
export interface PortVlanConfig {
  /** Access VLAN. */
  readonly vlan?: number;
  /** VLANs of a trunk port. */
  readonly trunks?: readonly number[];
}

function checkVid(vid: number): void {
  if (!Number.isInteger(vid) || vid < VLAN_ID_MIN || vid > VLAN_ID_MAX) {
    throw new RangeError(`VLAN id must be an integer from ${VLAN_ID_MIN} to ${VLAN_ID_MAX}, got ${vid}`);
  }
}

export class PortVlan {
  /** The access VLAN (1..4094), or -1 on a trunk port. */
  readonly access: number;
  /** 1 at each VLAN id (index 0..4095) the port carries. */
  readonly member = new Uint8Array(4096);

  private constructor(access: number, vids: readonly number[]) {
    this.access = access;
    for (const v of vids) {
      checkVid(v);
      this.member[v] = 1;
    }
  }

  /** An access port of VLAN `vid`. */
  static access(vid: number): PortVlan {
    return new PortVlan(vid, [vid]);
  }

  /** A trunk port carrying `vids` (at least one). */
  static trunk(vids: readonly number[]): PortVlan {
    if (vids.length === 0) throw new RangeError('a trunk port needs at least one VLAN');
    return new PortVlan(-1, vids);
  }

  /** The VLANs of the port, ascending (slow path). */
  vlans(): number[] {
    const out: number[] = [];
    for (let v = 0; v < this.member.length; v++) if (this.member[v] !== 0) out.push(v);
    return out;
  }

  /** `vlan=N` or `trunks=N,M`, as the port spec writes it. */
  toString(): string {
    return this.access >= 0 ? `vlan=${this.access}` : `trunks=${this.vlans().join(',')}`;
  }
}

/** The membership a port's configuration asks for; null (every VLAN, tags kept) when it names none. Throws on both or on a bad id. */
export function portVlanOf(cfg: PortVlanConfig): PortVlan | null {
  if (cfg.vlan !== undefined && cfg.trunks !== undefined) throw new RangeError('a port is either an access port (vlan) or a trunk port (trunks), not both');
  if (cfg.vlan !== undefined) return PortVlan.access(cfg.vlan);
  if (cfg.trunks !== undefined) return PortVlan.trunk(cfg.trunks);
  return null;
}
