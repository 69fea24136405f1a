import { describe, expect, it } from 'vitest';
import { closestWord, didYouMean, editDistance } from '../../src/did-you-mean.js';

describe('did you mean', () => {
  it('counts insertions, deletions, substitutions and neighbour swaps, ignoring case', () => {
    expect(editDistance('controller', 'controllers')).toBe(1);
    expect(editDistance('brust', 'burst')).toBe(1);
    expect(editDistance('Secure', 'secure')).toBe(0);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests only a close word, the closest one', () => {
    expect(closestWord('controller', ['listen', 'controllers'])).toBe('controllers');
    expect(closestWord('Secure', ['standalone', 'secure'])).toBe('secure');
    expect(closestWord('loud', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])).toBeUndefined();
    expect(closestWord('port', ['ports', 'pool-slots'])).toBe('ports');
    expect(closestWord('xyz', ['ports'])).toBeUndefined();
  });

  it('words the hint, and gives none for an exact match or a non-string', () => {
    expect(didYouMean('contoller', ['controllers'])).toBe(' (did you mean "controllers"?)');
    expect(didYouMean('secure', ['secure'])).toBe('');
    expect(didYouMean(5, ['5'])).toBe('');
  });
});
