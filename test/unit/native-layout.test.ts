/*
 * The layout shared by the native addon and TypeScript: the addon's
 * `constants` are checked against src/ports/native-layout.ts when it loads,
 * and a mismatch is one NativeLayoutError naming the constant and both
 * values. Also the addon's own burst limit (createIo refuses longer arrays).
 */

import { describe, expect, it } from 'vitest';
import { checkNativeConstants, loadNative, NativeLayoutError } from '../../src/ports/native.js';
import { MAX_BURST, NATIVE_CONSTANTS, STATUS_LEN } from '../../src/ports/native-layout.js';
import { thrownMessage } from '../helpers/config-files.js';

const WHERE = 'fake.node';

function layoutError(binding: unknown): string {
  return thrownMessage(() => checkNativeConstants(binding, WHERE), NativeLayoutError);
}

describe('checkNativeConstants', () => {
  it('accepts a binding whose constants equal the TypeScript ones', () => {
    expect(() => checkNativeConstants({ constants: { ...NATIVE_CONSTANTS } }, WHERE)).not.toThrow();
  });

  it('names the constant and both values when one differs', () => {
    const msg = layoutError({ constants: { ...NATIVE_CONSTANTS, STATUS_LEN: 5 } });
    expect(msg).toContain(`the native addon ${WHERE} does not match src/ports/native-layout.ts: STATUS_LEN is 5 in the addon but ${STATUS_LEN} in TypeScript`);
    expect(msg).toMatch(/rebuild the addon with npm run build/);
    // Only the wrong one is named.
    expect(msg).not.toMatch(/MAX_BURST|IO_KIND/);
  });

  it('shows flag bits in hex too', () => {
    expect(layoutError({ constants: { ...NATIVE_CONSTANTS, RX_TCI_PRESENT: 0x8000 } })).toContain(
      'RX_TCI_PRESENT is 32768 (0x8000) in the addon but 65536 (0x10000) in TypeScript',
    );
  });

  it('reports a constant missing on either side, and a value that is not a number', () => {
    const { MAX_BURST: _dropped, ...withoutMaxBurst } = NATIVE_CONSTANTS;
    expect(layoutError({ constants: withoutMaxBurst })).toContain(`MAX_BURST is missing from the addon (TypeScript: ${MAX_BURST})`);
    expect(layoutError({ constants: { ...NATIVE_CONSTANTS, STATUS_RX_DROPPED: 4 } })).toContain('STATUS_RX_DROPPED is 4 in the addon but not declared in TypeScript');
    expect(layoutError({ constants: { ...NATIVE_CONSTANTS, ERRNO_EAGAIN: '11' } })).toContain('ERRNO_EAGAIN is "11" in the addon but 11 in TypeScript');
  });

  it('lists every mismatch in the one error', () => {
    const msg = layoutError({ constants: { ...NATIVE_CONSTANTS, IO_KIND_TAP: 1, IO_KIND_PACKET: 0 } });
    expect(msg).toContain('IO_KIND_TAP is 1 in the addon but 0 in TypeScript; IO_KIND_PACKET is 0 in the addon but 1 in TypeScript');
  });

  it('refuses an addon built before it exported its constants', () => {
    expect(layoutError({ openTap() {} })).toMatch(/^the native addon fake\.node exports no layout constants/);
    expect(layoutError(null)).toMatch(/exports no layout constants/);
  });
});

describe('the built addon', () => {
  it('loads, and its constants are exactly the TypeScript declarations', () => {
    const native = loadNative();
    expect({ ...native.constants }).toEqual({ ...NATIVE_CONSTANTS });
    expect(() => checkNativeConstants(native, 'linc_native.node')).not.toThrow();
  });

  it('createIo takes burst arrays of MAX_BURST entries and refuses longer ones', () => {
    const native = loadNative();
    const make = (burst: number) =>
      native.createIo(
        -1, // never read or written: no rx/tx call is made
        NATIVE_CONSTANTS.IO_KIND_PACKET,
        new ArrayBuffer(4096),
        new Uint32Array(burst),
        2048,
        new Uint32Array(burst),
        new Uint32Array(burst),
        new Uint32Array(burst),
        new Uint32Array(burst),
        new Int32Array(STATUS_LEN),
      );
    make(MAX_BURST).close();
    expect(() => make(MAX_BURST + 1)).toThrow(/at most MAX_BURST entries/);
  });
});
