/*
 * The TAP I/O mode: the `io=` port option (spec strings and config-file
 * mappings, src/config.ts) and the fallback decision (src/ports/tap-io.ts).
 */

import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, portSpecText, resolveConfig } from '../../src/config.js';
import { decideTapIo, errnoName, uringRefusal } from '../../src/ports/tap-io.js';
import { configError, tempConfigDir } from '../helpers/config-files.js';

const { ENOSYS, EPERM, ENOMEM } = constants.errno;
const { file } = tempConfigDir('tapio');

describe('the io= option of tap ports', () => {
  it('parses io=uring|rw|auto after the name, with the VLAN options in any order, and writes it back', () => {
    const c = resolveConfig({ port: ['tap:a=1,io=uring', 'tap:b=2,vlan=10,io=rw', 'tap:c,io=auto,trunks=5,6', 'tap:d'] });
    expect(c.ports.map((p) => p.options?.io)).toEqual(['uring', 'rw', 'auto', undefined]);
    expect(c.ports[1].vlan).toBe(10);
    expect(c.ports[2].trunks).toEqual([5, 6]);
    expect(c.ports.map(portSpecText)).toEqual(['tap:a=1,io=uring', 'tap:b=2,vlan=10,io=rw', 'tap:c=3,trunks=5,6,io=auto', 'tap:d=4']);
  });

  it('refuses a bad mode, a repeated key and io= on a port kind without the choice, with one sentence each', () => {
    const opt = (spec: string) => configError(() => resolveConfig({ port: [spec] }));
    expect(opt('tap:a,io=mmap')).toBe('option ports[0]: tap port option io must be auto, uring or rw, not "mmap"');
    expect(opt('tap:a,io=')).toBe('option ports[0]: tap port option io must be auto, uring or rw, not ""');
    expect(opt('tap:a,io=rw,io=uring')).toBe('option ports[0]: io is given twice');
    expect(opt('if:veth0,io=rw')).toMatch(/^option ports\[0\]: "io" is not a port option: use vlan=ID .* or mode=ring\|mmsg\|xdp$/);
  });

  it('takes io in the mapping form of a config file, for tap ports only', () => {
    const good = file('good.yaml', 'ports:\n  - { type: tap, name: a, io: rw }\n  - { type: tap, name: b }\n');
    expect(resolveConfig({}, loadConfigFile(good)).ports.map((p) => p.options?.io)).toEqual(['rw', undefined]);
    const bad = file('bad.yaml', 'ports:\n  - { type: tap, name: a, io: fast }\n');
    expect(configError(() => resolveConfig({}, loadConfigFile(bad)))).toMatch(/io: must be "auto" or "uring" or "rw"/);
    const onIf = file('if.yaml', 'ports:\n  - { type: if, name: veth0, io: rw }\n');
    expect(configError(() => resolveConfig({}, loadConfigFile(onIf)))).toMatch(/unknown key "io"/);
  });
});

describe('decideTapIo: which I/O a TAP port uses', () => {
  it('io=rw never asks for a ring', () => {
    let asked = 0;
    expect(decideTapIo('rw', () => ++asked)).toEqual({ use: 'rw', fallback: null });
    expect(asked).toBe(0);
  });

  it('auto and uring use the ring when the addon gets one', () => {
    expect(decideTapIo('auto', () => 0)).toEqual({ use: 'uring', fallback: null });
    expect(decideTapIo('uring', () => 0)).toEqual({ use: 'uring', fallback: null });
  });

  it('auto falls back to read/write, saying why, when io_uring is missing or forbidden', () => {
    expect(decideTapIo('auto', () => ENOSYS)).toEqual({ use: 'rw', fallback: uringRefusal(ENOSYS) });
    expect(decideTapIo('auto', () => EPERM)).toEqual({ use: 'rw', fallback: uringRefusal(EPERM) });
    expect(uringRefusal(ENOSYS)).toMatch(/ENOSYS/);
    expect(uringRefusal(EPERM)).toMatch(/io_uring_disabled/);
    expect(uringRefusal(ENOMEM)).toMatch(/ENOMEM/);
  });

  it('an explicit io=uring that cannot be had is an error naming the errno and the way out', () => {
    const d = decideTapIo('uring', () => EPERM);
    expect(d).toEqual({ error: `${uringRefusal(EPERM)}; use io=rw or io=auto`, errno: EPERM });
    expect(errnoName(EPERM)).toBe('EPERM');
    expect(errnoName(999_999)).toBe('errno 999999');
  });
});
