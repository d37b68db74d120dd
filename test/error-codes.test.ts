import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fg from 'fast-glob';
import { ErrorCodes } from '../core/error-codes.js';

// The compiler makes every code raised be in the vocabulary; this keeps the vocabulary free of
// codes nothing raises any more, and of the same code listed twice.
describe('the error code vocabulary', () => {
  const listed = Object.values(ErrorCodes).flat();
  const sources = fg
    .sync(['core/**/*.ts', 'services/**/*.ts', 'catalog/**/*.ts', 'cli/**/*.ts'], { cwd: new URL('..', import.meta.url).pathname, absolute: true })
    .filter((f) => !f.endsWith('core/error-codes.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');

  it('lists each code once', () => {
    expect(listed.length).toBe(new Set(listed).size);
  });

  it('lists only codes the code base raises', () => {
    const unused = listed.filter((code) => !sources.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });
});
