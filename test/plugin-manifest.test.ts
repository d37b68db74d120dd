import { describe, it, expect } from 'vitest';
import {
  explainPluginName,
  isPluginName,
  ManifestProblemCode,
  parsePluginConfig,
  PLUGIN_CONFIG_KEYS,
} from '../core/plugin-manifest.js';

const FILE = '/x/plugins/foo/plugin.config';
const parse = (text: string, dirName = 'foo') => parsePluginConfig(text, { file: FILE, dirName });
const codes = (text: string, dirName = 'foo') => parse(text, dirName).problems.map((p) => p.code);
const whereOf = (text: string) => parse(text).problems.map((p) => p.where);

describe('parsePluginConfig: valid files', () => {
  it('applies documented defaults for a minimal file', () => {
    const r = parse('name=foo\nversion=1.0\n');
    expect(r.problems).toEqual([]);
    expect(r.manifest).toEqual({
      name: 'foo',
      version: '1.0',
      description: '',
      minProductVersion: undefined,
      maxProductVersion: undefined,
      minSdkVersion: '1.0',
      parentName: undefined,
      minParentVersion: undefined,
      main: 'index.js',
    });
  });

  it('reads every key, with the separators, comments and escapes of .properties', () => {
    const text = [
      '# a comment',
      '! another comment',
      '',
      'name : foo',
      '   version 2.10.3',
      'description = Introspects \\',
      '    Tomcat \\u00e9 servers   ',
      'minProductVersion=9',
      'maxProductVersion\t=\t10.1',
      'minSdkVersion = 1',
      'parentName = tomcat',
      'minParentVersion = 1.2',
      'main = ./lib/../dist/main.mjs',
      'someFutureKey = whatever',
    ].join('\r\n');
    const r = parse(text);
    expect(r.problems).toEqual([]);
    expect(r.manifest).toMatchObject({
      name: 'foo',
      version: '2.10.3',
      description: 'Introspects Tomcat \u00e9 servers',
      minProductVersion: '9',
      maxProductVersion: '10.1',
      minSdkVersion: '1',
      parentName: 'tomcat',
      minParentVersion: '1.2',
      main: 'dist/main.mjs',
    });
    expect(r.ignoredKeys).toEqual(['someFutureKey']);
  });

  it('ignores unknown keys without problems', () => {
    const r = parse('name=foo\nversion=1\nvendor=ACME\nx.y.z=1\n');
    expect(r.problems).toEqual([]);
    expect(r.manifest).toBeDefined();
    expect(r.ignoredKeys).toEqual(['vendor', 'x.y.z']);
  });

  it('tolerates a byte order mark and trailing blanks in values', () => {
    const r = parse('\ufeffname=foo  \nversion=1.0 \t\n');
    expect(r.problems).toEqual([]);
    expect(r.manifest?.version).toBe('1.0');
  });

  it('treats an empty optional value as absent (default applies)', () => {
    const r = parse('name=foo\nversion=1\nmain=\nminSdkVersion=\nparentName=\ndescription=\n');
    expect(r.problems).toEqual([]);
    expect(r.manifest?.main).toBe('index.js');
    expect(r.manifest?.minSdkVersion).toBe('1.0');
    expect(r.manifest?.parentName).toBeUndefined();
  });

  it('accepts .cjs and nested main', () => {
    expect(parse('name=foo\nversion=1\nmain=lib/a/b.cjs').manifest?.main).toBe('lib/a/b.cjs');
  });

  it('does not treat __proto__ specially', () => {
    const r = parse('name=foo\nversion=1\n__proto__=x\nconstructor=y\n');
    expect(r.problems).toEqual([]);
    expect(r.ignoredKeys).toEqual(['__proto__', 'constructor']);
  });
});

describe('parsePluginConfig: problems', () => {
  it('reports a missing name and version, both at once, with file and key', () => {
    const r = parse('description = nothing else\n');
    expect(r.manifest).toBeUndefined();
    expect(r.problems.map((p) => [p.code, p.where])).toEqual([
      [ManifestProblemCode.KEY_MISSING, `${FILE}: name`],
      [ManifestProblemCode.KEY_MISSING, `${FILE}: version`],
    ]);
    expect(r.problems[0]?.hint).toBe('add a line "name = foo"');
    expect(r.problems[1]?.hint).toMatch(/version = 1\.0/);
  });

  it('reports an empty file as missing both required keys', () => {
    expect(codes('')).toEqual([ManifestProblemCode.KEY_MISSING, ManifestProblemCode.KEY_MISSING]);
  });

  it('reports empty required values', () => {
    const r = parse('name=\nversion =   \n');
    expect(r.problems.map((p) => p.message)).toEqual([
      'required key "name" is empty',
      'required key "version" is empty',
    ]);
  });

  it.each(['1..2', '1.a', '-1', 'v1', '1.', '.1', '1 .2'])('rejects version %j', (v) => {
    const r = parse(`name=foo\nversion=${v}\n`);
    expect(r.manifest).toBeUndefined();
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ code: ManifestProblemCode.INVALID_VALUE, where: `${FILE}: version` });
    expect(r.problems[0]?.message).toContain(`"${v}"`);
    expect(r.problems[0]?.hint).toMatch(/separated by single dots/);
  });

  it('checks the version grammar of every version key', () => {
    const r = parse(
      'name=foo\nversion=1\nminProductVersion=x\nmaxProductVersion=1..\nminSdkVersion=one\nparentName=bar\nminParentVersion=2.b\n',
    );
    expect(r.problems.map((p) => p.where)).toEqual([
      `${FILE}: minProductVersion`,
      `${FILE}: maxProductVersion`,
      `${FILE}: minSdkVersion`,
      `${FILE}: minParentVersion`,
    ]);
  });

  it('requires name to equal the directory name', () => {
    const r = parse('name=bar\nversion=1\n');
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ code: ManifestProblemCode.NAME_MISMATCH, where: `${FILE}: name` });
    expect(r.problems[0]?.message).toMatch(/"bar".*"foo"/);
    expect(r.problems[0]?.hint).toMatch(/name = foo/);
  });

  it('checks the plugin name grammar', () => {
    for (const bad of ['1abc', 'a b', 'a.b', 'é', `a${'b'.repeat(64)}`]) {
      const r = parse(`name=${bad}\nversion=1\n`, bad);
      expect(r.problems.map((p) => p.code)).toEqual([ManifestProblemCode.INVALID_VALUE]);
      expect(r.problems[0]?.where).toBe(`${FILE}: name`);
    }
    expect(codes(`name=${'a'.repeat(64)}\nversion=1\n`, 'a'.repeat(64))).toEqual([]);
  });

  it('checks parentName grammar and refuses a plugin that is its own parent', () => {
    expect(whereOf('name=foo\nversion=1\nparentName=no good\n')).toEqual([`${FILE}: parentName`]);
    const self = parse('name=foo\nversion=1\nparentName=foo\n');
    expect(self.problems.map((p) => p.code)).toEqual([ManifestProblemCode.CONFLICT]);
    expect(self.problems[0]?.message).toMatch(/itself/);
  });

  it('refuses minParentVersion without parentName', () => {
    const r = parse('name=foo\nversion=1\nminParentVersion=2\n');
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ code: ManifestProblemCode.CONFLICT, where: `${FILE}: minParentVersion` });
    expect(r.problems[0]?.hint).toMatch(/parentName/);
  });

  it('refuses minProductVersion greater than maxProductVersion', () => {
    const r = parse('name=foo\nversion=1\nminProductVersion=1.10\nmaxProductVersion=1.9\n');
    expect(r.problems.map((p) => [p.code, p.where])).toEqual([
      [ManifestProblemCode.CONFLICT, `${FILE}: maxProductVersion`],
    ]);
    expect(codes('name=foo\nversion=1\nminProductVersion=2\nmaxProductVersion=2.0\n')).toEqual([]);
  });

  it.each([
    ['/etc/passwd.js', /absolute/],
    ['C:/x.js', /absolute/],
    ['../other/index.js', /leaves the plugin directory/],
    ['lib/../../x.js', /leaves the plugin directory/],
    ['lib\\\\index.js', /backslash/],
    ['index.ts', /not a \.js/],
    ['lib/', /not a \.js/],
    ['.', /not a \.js/],
  ])('refuses main %j', (main, why) => {
    const r = parse(`name=foo\nversion=1\nmain=${main}\n`);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ code: ManifestProblemCode.INVALID_VALUE, where: `${FILE}: main` });
    expect(r.problems[0]?.message).toMatch(why);
  });

  it('reports a duplicated known key with both line numbers', () => {
    const r = parse('name=foo\nversion=1\nversion=2\n');
    expect(r.problems.map((p) => p.code)).toEqual([ManifestProblemCode.DUPLICATE_KEY]);
    expect(r.problems[0]?.message).toMatch(/lines 2 and 3/);
  });

  it('reports known keys in the wrong case instead of silently ignoring them', () => {
    const r = parse('name=foo\nversion=1\nparentname=bar\n');
    expect(r.problems.map((p) => p.code)).toEqual([ManifestProblemCode.KEY_CASE]);
    expect(r.problems[0]?.hint).toBe('rename it to "parentName"');
  });

  it('reports syntax oddities with a line number and does not crash', () => {
    const r = parse('name=foo\n= orphan value\nversion=1\ndescription=caf\\u00zz\n\\\n');
    expect(r.problems.map((p) => [p.code, p.where])).toEqual([
      [ManifestProblemCode.SYNTAX, `${FILE}:2`],
      [ManifestProblemCode.SYNTAX, `${FILE}:4`],
    ]);
    expect(r.manifest).toBeUndefined();
  });

  it('accepts an escaped backslash before u', () => {
    const r = parse('name=foo\nversion=1\ndescription=C:\\\\users\n');
    expect(r.problems).toEqual([]);
    expect(r.manifest?.description).toBe('C:\\users');
  });

  it('survives binary garbage', () => {
    const r = parse('\u0000\u0001\u0002 ::: ===\n\\u\n\r\r\n');
    expect(Array.isArray(r.problems)).toBe(true);
    expect(r.manifest).toBeUndefined();
  });

  it('reports every problem at once', () => {
    const r = parse('name=Bar!\nversion=1..0\nminParentVersion=x\nmain=../a.js\n');
    expect(r.problems.map((p) => p.where)).toEqual([
      `${FILE}: name`,
      `${FILE}: version`,
      `${FILE}: minParentVersion`,
      `${FILE}: minParentVersion`,
      `${FILE}: main`,
    ]);
    for (const p of r.problems) expect(p.hint).toBeTruthy();
  });
});

describe('plugin names and the key table', () => {
  it('validates names', () => {
    expect(isPluginName('tomcat')).toBe(true);
    expect(isPluginName('Tomcat_9-ext')).toBe(true);
    expect(isPluginName('9tomcat')).toBe(false);
    expect(isPluginName('')).toBe(false);
    expect(explainPluginName('a'.repeat(65))).toMatch(/65 characters/);
    expect(explainPluginName('a/b')).toMatch(/"\/"/);
  });

  it('documents every key with its default', () => {
    expect(PLUGIN_CONFIG_KEYS.map((k) => k.key)).toEqual([
      'name',
      'version',
      'description',
      'minProductVersion',
      'maxProductVersion',
      'minSdkVersion',
      'parentName',
      'minParentVersion',
      'main',
    ]);
    expect(PLUGIN_CONFIG_KEYS.filter((k) => k.required).map((k) => k.key)).toEqual(['name', 'version']);
    expect(Object.fromEntries(PLUGIN_CONFIG_KEYS.map((k) => [k.key, k.defaultValue]))).toMatchObject({ minSdkVersion: '1.0', main: 'index.js', description: '' });
  });
});
