import { describe, it, expect } from 'vitest';
import { UserError } from '../core/errors.js';
import { compareVersions, explainVersion, formatVersion, isVersion, parseVersion } from '../core/version.js';

describe('isVersion', () => {
  it.each(['5', '0', '2.0', '1.10.3', '1.2.3.4', '007', '1.0.0.0.0.0'])('accepts %j', (v) => {
    expect(isVersion(v)).toBe(true);
  });

  it.each(['', '1..2', '1.a', '-1', '+1', ' 1', '1 ', '.1', '1.', '1.2.', 'v1', '1.0-beta', '1,2', '١', '1.2\n', '.'])(
    'rejects %j',
    (v) => {
      expect(isVersion(v)).toBe(false);
      expect(explainVersion(v)).toBeTypeOf('string');
    },
  );
});

describe('explainVersion', () => {
  it('names the specific fault', () => {
    expect(explainVersion('')).toMatch(/empty/);
    expect(explainVersion('1..2')).toMatch(/empty component/);
    expect(explainVersion('-1')).toMatch(/sign/);
    expect(explainVersion(' 1')).toMatch(/whitespace/);
    expect(explainVersion('1.')).toMatch(/ends with a dot/);
    expect(explainVersion('.1')).toMatch(/starts with a dot/);
    expect(explainVersion('1.a')).toMatch(/"a"/);
    expect(explainVersion('1.2')).toBeUndefined();
  });
});

describe('parseVersion', () => {
  it('splits into integers', () => {
    expect(parseVersion('1.10.3')).toEqual([1, 10, 3]);
    expect(parseVersion('5')).toEqual([5]);
    expect(parseVersion('01.002')).toEqual([1, 2]);
  });

  it('throws a UserError naming the string and the rule', () => {
    for (const bad of ['1..2', '1.a', '', '-1', ' 1']) {
      let caught: unknown;
      try {
        parseVersion(bad);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(UserError);
      const err = caught as UserError;
      expect(err.code).toBe('VERSION_INVALID');
      expect(err.message).toContain(`"${bad}"`);
      expect(err.hint).toMatch(/digits.*separated by single dots/);
    }
  });
});

describe('compareVersions', () => {
  it.each([
    ['1', '1', 0],
    ['2', '2.0', 0],
    ['2.0.0', '2', 0],
    ['1.10', '1.9', 1],
    ['1.9', '1.10', -1],
    ['1.0.1', '1', 1],
    ['1', '1.0.1', -1],
    ['3.0', '2.99.99', 1],
    ['01.2', '1.02', 0],
    ['0.0', '0', 0],
    ['10', '9', 1],
  ] as const)('%s vs %s = %d', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(expected === 0 ? 0 : -expected);
  });

  it('keeps precision for huge components', () => {
    // These two differ only beyond Number precision (2^53).
    expect(compareVersions('1.9007199254740993', '1.9007199254740992')).toBe(1);
    expect(compareVersions('123456789012345678901234567890', '123456789012345678901234567891')).toBe(-1);
    expect(compareVersions('0000000000000000000001', '1')).toBe(0);
  });

  it('throws on invalid input', () => {
    expect(() => compareVersions('1..2', '1')).toThrow(/"1\.\.2"/);
    expect(() => compareVersions('1', 'x')).toThrow(UserError);
  });

  it('is fast enough for thousands of comparisons', () => {
    const t0 = performance.now();
    let acc = 0;
    for (let i = 0; i < 100_000; i++) acc += compareVersions(`1.${i % 50}.3`, '1.25.3');
    expect(Number.isFinite(acc)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('formatVersion', () => {
  it('joins components', () => {
    expect(formatVersion([1, 10, 3])).toBe('1.10.3');
    expect(formatVersion([5])).toBe('5');
    expect(formatVersion([12345678901234567890n, '2'])).toBe('12345678901234567890.2');
  });

  it('round-trips with parseVersion', () => {
    expect(formatVersion(parseVersion('2.0.11'))).toBe('2.0.11');
  });

  it('rejects bad components', () => {
    expect(() => formatVersion([])).toThrow(UserError);
    expect(() => formatVersion([-1])).toThrow(/-1/);
    expect(() => formatVersion([1.5])).toThrow(/1\.5/);
    expect(() => formatVersion([-2n])).toThrow(/negative/);
    expect(() => formatVersion(['1a'])).toThrow(/"1a"/);
  });
});
