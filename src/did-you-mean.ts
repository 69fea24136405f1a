/*
 * "Did you mean ...?" for bad input: the known word closest to what the user
 * typed (a config key, a choice of a flag), offered only when it is close.
 *
 * Close means an edit distance (insertions, deletions, substitutions and
 * swaps of two neighbouring letters, ignoring case) of at most a quarter of
 * the longer word, and never more than 3; so `controller` suggests
 * `controllers`, `brust` suggests `burst` and `Secure` suggests `secure`,
 * while `loud` suggests no log level at all.
 */

/** Edit distance with adjacent transpositions (optimal string alignment), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  // rows[i][j]: distance between the first i letters of s and the first j of t.
  const rows: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...new Array<number>(t.length).fill(0)]);
  for (let j = 1; j <= t.length; j++) rows[0][j] = j;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i][j] = d;
    }
  }
  return rows[s.length][t.length];
}

/** The candidate closest to `word` when it is close enough to be a likely typo, else undefined (ties: the first). */
export function closestWord(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    const limit = Math.min(3, Math.max(1, Math.floor(Math.max(word.length, c.length) / 4)));
    if (d <= limit && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** ` (did you mean "x"?)` when a candidate is close to `word`, else the empty string. */
export function didYouMean(word: unknown, candidates: readonly string[]): string {
  if (typeof word !== 'string') return '';
  const c = closestWord(word, candidates);
  return c === undefined || c === word ? '' : ` (did you mean "${c}"?)`;
}
