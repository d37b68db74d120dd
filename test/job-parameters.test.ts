import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { environmentVariableFor, mergeParameterDefinitions, resolveParameterValues, type RawValue } from '../core/job-parameters.js';
import type { JobParameterDefinition } from '../core/plugin-contract.js';
import { readPasswordParameter } from '../services/secrets/password-input.js';
import { tempDir } from './helpers/plugins.js';

const home: JobParameterDefinition = { name: 'home', type: 'path', description: 'product home', required: true };
const port: JobParameterDefinition = { name: 'port', type: 'integer', description: 'port', defaultValue: 8080 };
const ssl: JobParameterDefinition = { name: 'ssl', type: 'boolean', description: 'use TLS' };
const secret: JobParameterDefinition = { name: 'admin-password', type: 'password', description: 'admin password', required: true };

const raw = (entries: Record<string, string>, origin: RawValue['origin'] = 'argv') =>
  new Map(Object.entries(entries).map(([k, v]) => [k, { value: v, origin }]));

describe('job parameter declarations', () => {
  it('merges a plugin and its extensions in order and remembers who declared what', () => {
    const merged = mergeParameterDefinitions([
      { plugin: 'prod', parameters: [home, port] },
      { plugin: 'ext', parameters: [ssl] },
    ]);
    expect(merged.map((p) => [p.name, p.declaredBy])).toEqual([
      ['home', 'prod'],
      ['port', 'prod'],
      ['ssl', 'ext'],
    ]);
  });

  it('rejects clashes, bad names, reserved names, unknown types, password defaults and bad defaults', () => {
    const bad = (p: Partial<JobParameterDefinition>) => () =>
      mergeParameterDefinitions([{ plugin: 'x', parameters: [{ ...home, ...p } as JobParameterDefinition] }]);
    expect(() => mergeParameterDefinitions([{ plugin: 'a', parameters: [home] }, { plugin: 'b', parameters: [home] }])).toThrow(
      /declared by both a and b/,
    );
    expect(bad({ name: 'Home' })).toThrow(/lower-case words/);
    expect(bad({ name: 'host' })).toThrow(/reserved/);
    expect(bad({ name: 'key-file' })).toThrow(/reserved/);
    expect(bad({ type: 'float' as never })).toThrow(/unknown type "float"/);
    expect(bad({ type: 'password', defaultValue: 'x' })).toThrow(/cannot have a default/);
    expect(bad({ type: 'integer', defaultValue: 'eight' })).toThrow(/"eight" is not an integer/);
  });
});

describe('job parameter values', () => {
  const declared = mergeParameterDefinitions([{ plugin: 'prod', parameters: [home, port, ssl] }]);

  it('converts types and applies defaults', () => {
    expect(resolveParameterValues(declared, raw({ home: '/opt/p', ssl: 'yes' }))).toEqual({ home: '/opt/p', port: 8080, ssl: true });
    expect(resolveParameterValues(declared, raw({ home: '/opt/p', port: '9090', ssl: 'false' }))).toEqual({ home: '/opt/p', port: 9090, ssl: false });
  });

  it('names the option and the rule for bad values', () => {
    expect(() => resolveParameterValues(declared, raw({ home: '/h', port: '80a' }))).toThrow(/"80a" is not an integer/);
    expect(() => resolveParameterValues(declared, raw({ home: '/h', port: '1e3' }))).toThrow(/not an integer/);
    expect(() => resolveParameterValues(declared, raw({ home: '/h', ssl: 'maybe' }))).toThrow(/"maybe" is not a boolean/);
  });

  it('lists every missing required parameter at once', () => {
    const both = mergeParameterDefinitions([{ plugin: 'p', parameters: [home, secret] }]);
    expect(() => resolveParameterValues(both, new Map())).toThrow(
      'missing required parameters: --home, --admin-password-file (or AB_PARAM_ADMIN_PASSWORD)',
    );
  });

  it('never accepts a password from argv', () => {
    const both = mergeParameterDefinitions([{ plugin: 'p', parameters: [home, secret] }]);
    expect(() => resolveParameterValues(both, new Map([['home', { value: '/h', origin: 'argv' }], ['admin-password', { value: 's3cr3t', origin: 'argv' }]]))).toThrow(
      /never taken from the command line/,
    );
    expect(resolveParameterValues(both, new Map([['home', { value: '/h', origin: 'argv' }], ['admin-password', { value: 's3cr3t', origin: 'env' }]]))).toEqual({
      home: '/h',
      'admin-password': 's3cr3t',
    });
  });
});

describe('password sources', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => (tmp = await tempDir()));
  afterEach(() => tmp.cleanup());
  const [p] = mergeParameterDefinitions([{ plugin: 'p', parameters: [secret] }]);
  const noPrompt = async (): Promise<string> => {
    throw new Error('must not prompt');
  };

  it('reads the first line of the password file, before the environment', async () => {
    const f = join(tmp.path, 'pw');
    await writeFile(f, 'from-file\nignored\n');
    await chmod(f, 0o600);
    const v = await readPasswordParameter(p!, { file: f, env: { [environmentVariableFor('admin-password')]: 'from-env' }, interactive: true, prompt: noPrompt });
    expect(v).toEqual({ value: 'from-file', origin: 'file' });
  });

  it('uses the environment variable, then the prompt on a terminal', async () => {
    expect(await readPasswordParameter(p!, { file: undefined, env: { AB_PARAM_ADMIN_PASSWORD: 'e' }, interactive: false, prompt: noPrompt })).toEqual({ value: 'e', origin: 'env' });
    let asked = '';
    const v = await readPasswordParameter(p!, { file: undefined, env: {}, interactive: true, prompt: async (m) => ((asked = m), 'typed') });
    expect(v).toEqual({ value: 'typed', origin: 'prompt' });
    expect(asked).toContain('admin password');
  });

  it('fails clearly without a terminal, and for a missing file', async () => {
    await expect(readPasswordParameter(p!, { file: undefined, env: {}, interactive: false, prompt: noPrompt })).rejects.toThrow(
      /no terminal to ask for it/,
    );
    await expect(readPasswordParameter(p!, { file: join(tmp.path, 'nope'), env: {}, interactive: false, prompt: noPrompt })).rejects.toThrow(
      /cannot read the password file for --admin-password/,
    );
  });
});
