/*
 * The port-kind registry (src/ports/kinds.ts): unique names, the kinds the
 * command line offers and in which order, and openPort's contract (a Port or
 * a PortOpenError naming the port, never a throw). Opening real TAPs and
 * interfaces is covered by test/integration/ports.test.ts and the switch
 * tests; here only what needs no root.
 */

import { describe, expect, it } from 'vitest';
import { PacketPool } from '../../src/packet/pool.js';
import { findPortKind, openPort, PORT_KINDS, SPEC_PORT_KINDS } from '../../src/ports/kinds.js';
import { MemoryPort } from '../../src/ports/memory-port.js';
import { PortOpenError } from '../../src/ports/open-errors.js';
import { MAX_BURST } from '../../src/ports/port.js';

const ctx = { pool: new PacketPool({ slots: 256 }), burst: 32, offload: true };

describe('port-kind registry', () => {
  it('declares each kind once, under a unique name', () => {
    const names = PORT_KINDS.map((k) => k.kind);
    expect(names).toEqual(['tap', 'if', 'memory']);
    expect(new Set(names).size).toBe(names.length);
    for (const k of PORT_KINDS) expect(findPortKind(k.kind)).toBe(k);
    expect(findPortKind('tapx')).toBeUndefined();
  });

  it('offers tap and if to --port and config files, not memory', () => {
    expect(SPEC_PORT_KINDS.map((k) => k.kind)).toEqual(['tap', 'if']);
    expect(findPortKind('memory')!.spec).toBeNull();
  });

  it('checks interface names for tap and if', () => {
    for (const k of SPEC_PORT_KINDS) {
      expect(k.spec.checkName('veth1')).toBeNull();
      expect(k.spec.checkName('abcdefghijklmnop')).toBe(`"abcdefghijklmnop" is not an interface name (1 to 15 characters, no spaces, '/', ':', '=' or ',')`);
      expect(k.spec.checkName('a,b')).not.toBeNull(); // ',' starts the spec's options
      expect(k.spec.fields.name.safeParse('a/b').success).toBe(false);
      expect(k.spec.fields.name.safeParse('a,b').success).toBe(false);
    }
  });

  it('opens a port of the kind its spec names, with the capabilities its row declares', () => {
    const p = openPort({ kind: 'memory', name: 'm0', ofPort: 3 }, ctx);
    expect(p).toBeInstanceOf(MemoryPort);
    const port = p as MemoryPort;
    expect(port.kind).toBe('memory');
    expect(port.name).toBe('m0');
    expect(port.ofPort).toBe(3);
    expect(port.vnetHdr).toBe(findPortKind('memory')!.capabilities.vnetHdr);
  });

  it('returns, never throws, a PortOpenError naming the port', () => {
    const unknown = openPort({ kind: 'vxlan', name: 'vx0', ofPort: 1 }, ctx);
    expect(unknown).toBeInstanceOf(PortOpenError);
    expect((unknown as PortOpenError).message).toBe('cannot open port vxlan:vx0: there is no port kind "vxlan"');
    // A burst past the native limit fails before any syscall; the error is wrapped, naming the port.
    const tooBig = openPort({ kind: 'tap', name: 'ltnever0', ofPort: 1 }, { ...ctx, burst: MAX_BURST + 1 });
    expect(tooBig).toBeInstanceOf(PortOpenError);
    expect((tooBig as PortOpenError).message).toBe(`cannot open port tap:ltnever0: burst must be an integer in 1..${MAX_BURST}, got ${MAX_BURST + 1}`);
    expect((tooBig as PortOpenError).code).toBe('EIO');
  });
});
