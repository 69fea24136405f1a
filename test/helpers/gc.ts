/*
 * A forced garbage collection for the allocation tests: global.gc when node
 * runs with --expose-gc, else one obtained by setting the V8 flag at run time
 * (vitest's workers start without it).
 */

import v8 from 'node:v8';
import vm from 'node:vm';

export function obtainGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
