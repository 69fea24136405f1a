/*
 * The setup the configuration tests share: a temporary directory of config
 * files (removed after the file's tests) and the message of the error a
 * call is expected to throw.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { ConfigError } from '../../src/config-errors.js';

/** A temporary directory (prefix `linc-<name>-`), removed after the tests of the file or describe that calls this. */
export function tempConfigDir(name: string): { dir: string; file: (fileName: string, text: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), `linc-${name}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    /** Writes `text` to `fileName` in the directory; returns its path. */
    file: (fileName: string, text: string): string => {
      const p = join(dir, fileName);
      writeFileSync(p, text);
      return p;
    },
  };
}

/** The message of the `errorClass` error `fn` throws; fails the test if it throws nothing or something else. */
export function thrownMessage(fn: () => unknown, errorClass: new (...args: never[]) => Error): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(errorClass);
    return (e as Error).message;
  }
  throw new Error(`expected a ${errorClass.name}`);
}

/** The message of the ConfigError `fn` throws. */
export function configError(fn: () => unknown): string {
  return thrownMessage(fn, ConfigError);
}
