/*
 * The OpenFlow wire versions this switch speaks, one row each (see
 * wire-version.ts). The channel offers them in its HELLO version bitmap and
 * the codec decodes with the row the header's version names.
 */

import { OPENFLOW_13 } from './v13/version.js';
import type { WireVersion } from './wire-version.js';

export const WIRE_VERSIONS: readonly WireVersion[] = [OPENFLOW_13];

/** ofp_header.version values we speak, lowest first. */
export const SUPPORTED_VERSIONS: readonly number[] = WIRE_VERSIONS.map((v) => v.version).sort((a, b) => a - b);

/** The row for a header version, or undefined. */
export function wireVersion(version: number): WireVersion | undefined {
  return WIRE_VERSIONS.find((v) => v.version === version);
}

for (let i = 0; i < WIRE_VERSIONS.length; i++) {
  for (let j = i + 1; j < WIRE_VERSIONS.length; j++) {
    if (WIRE_VERSIONS[i].version === WIRE_VERSIONS[j].version) throw new Error(`openflow/versions: version ${WIRE_VERSIONS[i].version} listed twice`);
  }
}
