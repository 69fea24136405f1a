/*
 * What a test needs from the machine (root, a program, a file), and the one
 * rule for when it is missing: on a developer's machine the test is skipped
 * with a line naming what is missing; under CI=true (or LINC_REQUIRE_ALL=1)
 * it is an error naming it, so a CI machine without a tool fails instead of
 * passing with tests silently skipped.
 *
 *   describe.skipIf(missing(netns, tool('ping'), tool('iperf3')))('...', () => { ... });
 *   if (!missing(tool('promtool'))) { ...an optional extra check... }
 *
 * The programs named here are the ones scripts/check-test-tools.sh checks and
 * scripts/install-test-deps.sh installs (a unit test keeps the lists in step).
 */

import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { hasCommand } from './netns.js';

/** One thing a test needs; `present` is asked when a test file is collected. */
export interface Need {
  /** How the message names it: `root`, `tshark`, `python3 module mininet`. */
  readonly what: string;
  present(): boolean;
}

/** Root with the TAP driver: every test that creates TAPs, veths or namespaces. */
export const root: Need = {
  what: 'root (uid 0) and /dev/net/tun',
  present: () => process.getuid?.() === 0 && existsSync('/dev/net/tun'),
};

/** A program, by name on PATH or by absolute path. */
export function tool(name: string): Need {
  return {
    what: name,
    present: () => {
      if (!name.includes('/')) return hasCommand(name);
      try {
        accessSync(name, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** A file the test reads or runs that is not a program on PATH (`what` says what it is). */
export function file(path: string, what: string): Need {
  return { what: `${what} (${path})`, present: () => existsSync(path) };
}

/** A module that Debian's python3 (/usr/bin/python3) imports. */
export function python3Module(name: string): Need {
  return { what: `python3 module ${name}`, present: () => spawnSync('/usr/bin/python3', ['-c', `import ${name}`], { stdio: 'ignore' }).status === 0 };
}

/** Any one of several (e.g. podman, or apt-get to install it). */
export function oneOf(...needs: Need[]): Need {
  return { what: needs.map((n) => n.what).join(' or '), present: () => needs.some((n) => n.present()) };
}

/** Root and the programs Topology (netns.ts) runs: namespaces, veths, TAPs moved into namespaces. */
export const netns: Need[] = [root, tool('ip'), tool('sysctl')];

/** CI=true (as CI services set it; .ci/run exports it) or LINC_REQUIRE_ALL=1: a missing need fails. */
export function requireAll(env: NodeJS.ProcessEnv = process.env): boolean {
  const on = (v: string | undefined) => v !== undefined && ['1', 'true', 'yes'].includes(v.trim().toLowerCase());
  return on(env.CI) || on(env.LINC_REQUIRE_ALL);
}

/** The needs that are not met, by name. */
export function unmet(...needs: Array<Need | Need[]>): string[] {
  return needs.flat().filter((n) => !n.present()).map((n) => n.what);
}

/**
 * True when something is missing, so the caller skips (`describe.skipIf(missing(...))`),
 * after one line on stderr naming it; under requireAll() it throws instead.
 */
export function missing(...needs: Array<Need | Need[]>): boolean {
  const gone = unmet(...needs);
  if (gone.length === 0) return false;
  if (requireAll()) {
    throw new Error(
      `test needs missing: ${gone.join(', ')}. CI=true (or LINC_REQUIRE_ALL=1) makes that a failure, not a skip: ` +
        'run scripts/install-test-deps.sh and the tests as root (scripts/check-test-tools.sh lists what is missing)',
    );
  }
  process.stderr.write(`skipped: needs ${gone.join(', ')} (scripts/install-test-deps.sh installs the tools; CI=true makes this a failure)\n`);
  return true;
}
