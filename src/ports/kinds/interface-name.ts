/*
 * The spec syntax shared by kinds whose NAME is a Linux interface name (tap,
 * if): one rule for `--port KIND:NAME` and for the mapping form's `name`
 * key, each with its own sentence.
 */

import { z } from 'zod';
import { IFNAME_MAX } from '../open-errors.js';
import type { PortSpecSyntax } from '../port-kind.js';

/** 1 to IFNAME_MAX characters, none of them white space, '/', ':' (Linux), '=' or ',' (the spec's OFPORT and option separators). */
const INTERFACE_NAME = new RegExp(`^[^\\s/:=,]{1,${IFNAME_MAX}}$`);

const nameField = z.string().regex(INTERFACE_NAME, `must be an interface name (1 to ${IFNAME_MAX} characters, no spaces, "/", ":", "=" or ",")`);

/** The syntax of a kind named by an interface name, with its --help words. */
export function interfaceNameSyntax(help: string): PortSpecSyntax {
  return {
    help,
    checkName: (name) =>
      INTERFACE_NAME.test(name) ? null : `"${name}" is not an interface name (1 to ${IFNAME_MAX} characters, no spaces, '/', ':', '=' or ',')`,
    fields: { name: nameField },
  };
}
