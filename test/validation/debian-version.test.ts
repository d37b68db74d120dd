/**
 * Debian version order: dpkg's own examples (its t-version.c cases and the policy's tilde
 * example), then every pair cross-checked against the real `dpkg --compare-versions` of this
 * machine, so our order is dpkg's and not only ours.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareDebianVersions, debianVersionProblem, parseDebianVersion } from '../../core/requirements/index.js';

const sign = (n: number): number => Math.sign(n) || 0;

// [a, b, sign of compare(a, b)]
const CASES: readonly (readonly [string, string, number])[] = [
  // dpkg t-version.c: equality across leading zeros and an explicit zero epoch
  ['0:0-0', '0:0-0', 0],
  ['0:0-00', '0:00-0', 0],
  ['1:2-3', '1:2-3', 0],
  // epoch, upstream and revision differences
  ['0:0-0', '1:0-0', -1],
  ['0:a-0', '0:b-0', -1],
  ['0:0-a', '0:0-b', -1],
  ['1:0-0', '0:0-0', 1],
  // the policy's tilde rule: ~~ < ~~a < ~ < (nothing) < a
  ['1.0~~', '1.0~~a', -1],
  ['1.0~~a', '1.0~', -1],
  ['1.0~', '1.0', -1],
  ['1.0', '1.0a', -1],
  ['2.2~rc-4', '2.2-1', -1],
  // digit runs are numbers, not text; letters sort before other marks
  ['1.10', '1.9', 1],
  ['1.0000-1', '1.0-1', 0],
  ['7.6p2-4', '7.6-0', 1],
  ['1.0.3-3', '1.0-1', 1],
  ['1.3', '1.2.2-2', 1],
  ['0-pre', '0-pre', 0],
  ['0-pre', '0-pree', -1],
  ['1.1.6r2-2', '1.1.6r-1', 1],
  ['2.6b2-1', '2.6b-2', 1],
  ['98.1p5-1', '98.1-pre2-b6-2', -1],
  ['0.4a6-2', '0.4-1', 1],
  ['1:3.0.5-2', '1:3.0.5.1', -1],
  ['10.3', '1:0.4', -1],
  ['1:1.25-4', '1:1.25-8', -1],
  ['0:1.18.36', '1.18.36', 0],
  ['1.18.36', '1.18.35', 1],
  ['9:1.18.36:5.4-20', '10:0.5.1-22', -1],
  ['9:1.18.36:5.4-20', '9:1.18.37:4.3-22', -1],
  ['1.18.36-0.17.35-18', '1.18.37-1', -1],
  ['1:0.4', '1:0.4.1', -1],
  ['2.0.7pre1-4', '2.0.7r-1', -1],
  ['0.2', '1.0-0', -1],
  ['1.1.1.1', '1.1.1.1+a', -1],
  ['2.36-9+deb12u14', '2.28', 1],
  ['2.24-11+deb9u4', '2.28', -1],
  ['12.2.0-14+deb12u1', '12.2.0-14', 1],
  ['1.0+dfsg-1', '1.0-1', 1],
  ['99999999999999999999', '99999999999999999998', 1],
];

describe('Debian version order', () => {
  it.each(CASES)('%s vs %s', (a, b, expected) => {
    expect(sign(compareDebianVersions(a, b))).toBe(expected);
    expect(sign(compareDebianVersions(b, a))).toBe(-expected || 0);
  });

  it('parses epoch, upstream and revision as dpkg does (last hyphen starts the revision)', () => {
    expect(parseDebianVersion('1:2.30-1-2')).toEqual({ epoch: 1, upstream: '2.30-1', revision: '2' });
    expect(parseDebianVersion(' 2.28 ')).toEqual({ epoch: 0, upstream: '2.28', revision: '' });
  });

  it('names what is wrong with a version that is not one', () => {
    expect(debianVersionProblem('')).toBe('it is empty');
    expect(debianVersionProblem('a1.0')).toMatch(/does not start with a digit/);
    expect(debianVersionProblem('x:1.0')).toMatch(/epoch is not a number/);
    expect(debianVersionProblem('1.0-')).toMatch(/revision after "-" is empty/);
    expect(debianVersionProblem('1.0 2')).toMatch(/white space/);
    expect(debianVersionProblem('1.0_2')).toMatch(/character/);
    expect(debianVersionProblem('1.0-2_3')).toMatch(/revision has a character/);
    expect(() => parseDebianVersion('-1')).toThrow(/"-1" is not a Debian version: the upstream version is empty/);
  });

  // The real dpkg of this machine (Debian; .ci/apt-packages has no need to add it).
  const dpkg = spawnSync('dpkg', ['--version']).status === 0;
  it.runIf(dpkg)('agrees with dpkg --compare-versions on every case', () => {
    const disagreements: string[] = [];
    for (const [a, b] of CASES) {
      for (const [op, holds] of [['lt', (n: number) => n < 0], ['eq', (n: number) => n === 0], ['gt', (n: number) => n > 0]] as const) {
        const real = spawnSync('dpkg', ['--compare-versions', a, op, b]).status === 0;
        if (real !== holds(compareDebianVersions(a, b))) disagreements.push(`${a} ${op} ${b}: dpkg says ${real}`);
      }
    }
    expect(disagreements).toEqual([]);
  });
});
