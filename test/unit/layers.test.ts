/*
 * The layer rules fire: the project's dependency-cruiser config
 * (.dependency-cruiser.cjs, run by `npm run lint`) is run against tiny source
 * trees written to a temporary directory. A datapath file that imports
 * OpenFlow (by value or only a type) fails the lint and names the layer rule;
 * the same tree without that import passes; a file-level cycle fails with
 * no-circular. Each tree is one depcruise run (about a second).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/netns.js';

const DEPCRUISE = join(repoRoot, 'node_modules/.bin/depcruise');
const RULES = join(repoRoot, '.dependency-cruiser.cjs');

const TSCONFIG = JSON.stringify({
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
  include: ['src/**/*.ts'],
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Writes `files` (path under the tree -> source) plus a tsconfig.json and runs the project's rules on src/. */
function cruise(files: Record<string, string>): { code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'linc-layers-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'tsconfig.json'), TSCONFIG);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const r = spawnSync(DEPCRUISE, ['src', '--config', RULES], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A tree whose entry (src/index.ts, exempt from no-orphans) reaches every file. */
const clean: Record<string, string> = {
  'src/index.ts': "export { forward } from './datapath/x.js';\nexport type { Rule } from './datapath/t.js';\nexport { encode } from './openflow/codec/y.js';\n",
  'src/packet/z.ts': 'export const HEADROOM = 128;\n',
  'src/datapath/x.ts': "import { HEADROOM } from '../packet/z.js';\nexport const forward = (n: number): number => n + HEADROOM;\n",
  'src/datapath/t.ts': 'export interface Rule { priority: number }\n',
  'src/openflow/codec/y.ts': 'export interface Wire { bytes: number }\nexport const encode = (): Wire => ({ bytes: 8 });\n',
};

describe('the dependency-cruiser layer rules', () => {
  it('pass a tree whose arrows point down', () => {
    const r = cruise(clean);
    expect(r.out).toMatch(/no dependency violations found/);
    expect(r.code).toBe(0);
  });

  it('fail a datapath file that imports OpenFlow, by value or only a type', () => {
    const r = cruise({
      ...clean,
      'src/datapath/x.ts': "import { HEADROOM } from '../packet/z.js';\nimport { encode } from '../openflow/codec/y.js';\nexport const forward = (n: number): number => n + HEADROOM + encode().bytes;\n",
      'src/datapath/t.ts': "import type { Wire } from '../openflow/codec/y.js';\nexport interface Rule { priority: number; wire?: Wire }\n",
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/datapath-not-to-openflow-stats-face: src\/datapath\/x\.ts → src\/openflow\/codec\/y\.ts/);
    expect(r.out).toMatch(/datapath-not-to-openflow-stats-face: src\/datapath\/t\.ts → src\/openflow\/codec\/y\.ts/);
    expect(r.out).not.toMatch(/no-orphans|not-to-unresolvable/);
  });

  it('fail a file-level cycle', () => {
    const r = cruise({
      'src/index.ts': "export { a } from './packet/a.js';\n",
      'src/packet/a.ts': "import { b } from './b.js';\nexport const a = (): number => b() + 1;\n",
      'src/packet/b.ts': "import { a } from './a.js';\nexport const b = (): number => (Math.random() > 2 ? a() : 0);\n",
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/no-circular: src\/packet\/[ab]\.ts →\s+src\/packet\/[ab]\.ts →\s+src\/packet\/[ab]\.ts/);
  });
});
