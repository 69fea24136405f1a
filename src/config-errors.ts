/*
 * The configuration's errors in the user's words: ConfigError (one sentence
 * naming the key, code LINC_ERR_CONFIG) and the error map every config schema
 * parses with (PLAIN).
 *
 * Invariants: zod's wording for a value of the wrong type or a bad choice
 * never reaches the user (plainIssue); a value is quoted as the user wrote it
 * (valueWords); an unknown key or choice close to a known one gets a "did you
 * mean" (unknownKeys, didYouMean). Messages a schema sets itself win over the
 * map. Nothing here knows a particular key.
 */

import type { z } from 'zod';
import { didYouMean } from './did-you-mean.js';

export class ConfigError extends Error {
  readonly code = 'LINC_ERR_CONFIG';
}

/** A value as the user wrote it, for "must be X, not Y". */
export function valueWords(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the text ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeof v;
}

/** `"a", "b" or "c"` */
function quotedChoices(values: readonly unknown[]): string {
  const q = values.map((v) => JSON.stringify(v));
  return q.length > 1 ? `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}` : q.join('');
}

/** `unknown key "x" (did you mean "y"?)`, for keys not among `known`. */
export function unknownKeys(keys: readonly string[], known: readonly string[]): string {
  return `unknown key${keys.length === 1 ? '' : 's'} ${keys.map((k) => `"${k}"${didYouMean(k, known)}`).join(', ')}`;
}

const WANTED: Record<string, string> = {
  number: 'must be a number',
  int: 'must be a whole number',
  boolean: 'must be true or false',
  string: 'must be a string',
  array: 'must be a list',
  object: 'must be a mapping',
};

/**
 * Every schema here parses with this error map: zod's wording for a wrong
 * type ("Invalid input: expected number, received string") or a bad choice
 * becomes a sentence. Messages set on a schema itself win over it; range
 * checks keep zod's ("Too small: expected number to be >=1").
 */
function plainIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is missing';
    return `${WANTED[issue.expected] ?? `must be a ${issue.expected}`}, not ${valueWords(issue.input)}`;
  }
  if (issue.code === 'invalid_value') return `must be ${quotedChoices(issue.values)}${didYouMean(issue.input, issue.values.map(String))}`;
  if (issue.code === 'invalid_union') return `is not valid here: ${valueWords(issue.input)}`;
  return undefined;
}
export const PLAIN = { error: plainIssue };
