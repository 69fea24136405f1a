/*
 * test/helpers/requirements.ts: a missing tool skips a test with a line
 * saying so, except under CI=true or LINC_REQUIRE_ALL=1, where it is an
 * error naming the tool. And the lists stay in step: every program a test
 * names or spawns is checked by scripts/check-test-tools.sh, whose packages
 * scripts/install-test-deps.sh installs.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { repoRoot } from '../helpers/netns.js';
import { file, missing, oneOf, requireAll, tool, unmet } from '../helpers/requirements.js';

const NO_SUCH_TOOL = 'linc-no-such-tool-4f2a';
const NOR_THIS_ONE = 'linc-no-such-tool-9c1e';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

function stderrLines(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

describe('test requirements', () => {
  it('locally a missing tool means skip, with a line naming it', () => {
    vi.stubEnv('CI', '');
    vi.stubEnv('LINC_REQUIRE_ALL', '');
    const lines = stderrLines();
    expect(missing(tool('sh'), tool(NO_SUCH_TOOL))).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^skipped: needs ${NO_SUCH_TOOL} `));
  });

  it('under CI=true (or LINC_REQUIRE_ALL=1) a missing tool is an error naming it', () => {
    vi.stubEnv('CI', 'true');
    expect(() => missing(tool(NO_SUCH_TOOL))).toThrow(new RegExp(`test needs missing: ${NO_SUCH_TOOL}\\. CI=true`));
    vi.stubEnv('CI', '');
    vi.stubEnv('LINC_REQUIRE_ALL', '1');
    expect(() => missing(tool('sh'), file('/nonexistent/linc-x', 'a file'))).toThrow(/test needs missing: a file \(\/nonexistent\/linc-x\)/);
  });

  it('nothing missing: no skip and no error, in either mode', () => {
    const lines = stderrLines();
    for (const ci of ['', 'true']) {
      vi.stubEnv('CI', ci);
      expect(missing(tool('sh'), tool('/bin/sh'), oneOf(tool(NO_SUCH_TOOL), tool('sh')))).toBe(false);
    }
    expect(lines).toEqual([]);
  });

  it('names each unmet need, absolute paths and alternatives included', () => {
    expect(unmet(tool('sh'), [tool(NO_SUCH_TOOL), tool(`/usr/bin/${NO_SUCH_TOOL}`)], oneOf(tool(NO_SUCH_TOOL), tool(NOR_THIS_ONE)))).toEqual([
      NO_SUCH_TOOL,
      `/usr/bin/${NO_SUCH_TOOL}`,
      `${NO_SUCH_TOOL} or ${NOR_THIS_ONE}`,
    ]);
  });

  it('reads CI and LINC_REQUIRE_ALL as CI services set them', () => {
    expect(requireAll({})).toBe(false);
    expect(requireAll({ CI: 'true' })).toBe(true);
    expect(requireAll({ CI: '1' })).toBe(true);
    expect(requireAll({ CI: 'false' })).toBe(false);
    expect(requireAll({ CI: '0', LINC_REQUIRE_ALL: '1' })).toBe(true);
  });
});

/** `name=( a b:c ... )` from a bash script: the words of the array. */
function bashArray(script: string, name: string): string[] {
  const m = new RegExp(`^${name}=\\(([^)]*)\\)`, 'm').exec(readFileSync(join(repoRoot, 'scripts', script), 'utf8'));
  if (!m) throw new Error(`no ${name}=(...) in scripts/${script}`);
  return m[1].split(/\s+/).filter((w) => w !== '');
}

function sources(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'));
}

describe('the tool lists stay in step', () => {
  const checked = [...bashArray('check-test-tools.sh', 'programs'), ...bashArray('check-test-tools.sh', 'node_programs')].map((e) => e.split(':')[0]);
  const modules = bashArray('check-test-tools.sh', 'python_modules').map((e) => e.split(':')[0]);

  it('every program a test requires or spawns is checked by scripts/check-test-tools.sh', () => {
    const used = new Set<string>();
    const modulesUsed = new Set<string>();
    for (const text of [...sources('test'), ...sources('bench')]) {
      for (const m of text.matchAll(/\btool\('([^']+)'\)/g)) used.add(m[1].split('/').pop()!);
      for (const m of text.matchAll(/\b(?:spawn|spawnSync|execFileSync|execFile)\(\s*'([^']+)'/g)) used.add(m[1].split('/').pop()!);
      for (const m of text.matchAll(/\bpython3Module\('([^']+)'\)/g)) modulesUsed.add(m[1]);
    }
    for (const base of ['sh', 'bash', 'apt-get']) used.delete(base); // Debian's essential and required packages
    expect(used.has(NO_SUCH_TOOL)).toBe(false); // this file names it only through the constant
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((t) => !checked.includes(t))).toEqual([]);
    expect([...modulesUsed].filter((m) => !modules.includes(m))).toEqual([]);
  });

  it('every package check-test-tools.sh names is one install-test-deps.sh installs', () => {
    const installed = bashArray('install-test-deps.sh', 'pkgs');
    const named = [...bashArray('check-test-tools.sh', 'programs'), ...bashArray('check-test-tools.sh', 'python_modules')].map((e) => e.split(':')[1]);
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((p) => !installed.includes(p))).toEqual([]);
  });
});
