/*
 * Fixture files for the OpenFlow codec tests (format: test/fixtures/of13/README.md).
 *
 * - <name>.hex: loxigen-style annotated hex. Lines before `-- binary` are
 *   comments (`# what`, `# how`); after it, hex byte pairs with optional
 *   `# field` comments to the end of the line.
 * - <name>.json: the decoded message. JSON has no bigint or bytes, so:
 *   a bigint is a string "0x<hex>n" (the trailing n marks it, as in a JS
 *   bigint literal); a byte string is { "$hex": "<hex>" }.
 */

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/of13');

export interface HexFixture {
  name: string;
  /** The comment lines before `-- binary`, without the `# `. */
  comments: string[];
  bytes: Buffer;
}

export function parseHexFixture(name: string, text: string): HexFixture {
  const comments: string[] = [];
  const hex: string[] = [];
  let inBinary = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!inBinary) {
      if (line === '-- binary') inBinary = true;
      else if (line.startsWith('#')) comments.push(line.replace(/^#\s?/, ''));
      continue;
    }
    const code = line.split('#')[0].trim();
    if (code === '') continue;
    for (const pair of code.split(/\s+/)) {
      if (!/^[0-9a-fA-F]{2}$/.test(pair)) throw new Error(`${name}: bad hex byte "${pair}"`);
      hex.push(pair);
    }
  }
  if (!inBinary) throw new Error(`${name}: no "-- binary" section`);
  return { name, comments, bytes: Buffer.from(hex.join(''), 'hex') };
}

export function readHexFixture(name: string): HexFixture {
  return parseHexFixture(name, readFileSync(join(FIXTURE_DIR, `${name}.hex`), 'utf8'));
}

const BIGINT_RE = /^0x[0-9a-f]+n$/;

/**
 * The value of a fixture's JSON text, with the bigint and bytes markers revived.
 * @public also used by test/fixtures/of13/capture/encode-handmade.mjs (through the build)
 */
export function reviveFixtureJson(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    if (typeof v === 'string' && BIGINT_RE.test(v)) return BigInt(v.slice(0, -1));
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === '$hex') return Buffer.from((v as { $hex: string }).$hex, 'hex');
    }
    return v;
  });
}

export function readJsonFixture(name: string): unknown {
  return reviveFixtureJson(readFileSync(join(FIXTURE_DIR, `${name}.json`), 'utf8'));
}

/**
 * The JSON text of a decoded message, in the fixture format.
 * @public also used by test/fixtures/of13/capture/draft-json.mjs (through the build)
 */
export function toFixtureJson(value: unknown): string {
  return (
    JSON.stringify(
      value,
      function (this: unknown, k: string, v: unknown) {
        const raw = (this as Record<string, unknown>)[k];
        if (typeof raw === 'bigint') return `0x${raw.toString(16)}n`;
        if (raw instanceof Uint8Array) return { $hex: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex') };
        return v;
      },
      2,
    ) + '\n'
  );
}

/** Names of the fixtures that have both a .hex and a .json. */
export function fixtureNames(): string[] {
  const files = new Set(readdirSync(FIXTURE_DIR));
  return [...files]
    .filter((f) => f.endsWith('.hex') && files.has(f.replace(/\.hex$/, '.json')))
    .map((f) => f.replace(/\.hex$/, ''))
    .sort();
}

/** Offset of the first differing byte, or -1 when equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
