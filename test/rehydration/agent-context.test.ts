/**
 * The helpers of the lifecycle context on real files and real processes: template rendering
 * (strict, password files 0600), fileRef resolution (contentresource only), run() (argv without
 * a shell, environment never on a command line, timeout, captured output), ownership, and
 * password values kept out of log lines.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleContext } from '../../core/lifecycle-contract.js';
import { Appliance, Assembly, ExternalResource } from '../../core/metadata/index.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import { LifecycleContexts } from '../../services/rehydration/context.js';
import { checkNodeVersion } from '../../services/rehydration/agent.js';
import { tempDir } from '../helpers/plugins.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let ctx: LifecycleContext;
const lines: string[] = [];

beforeAll(async () => {
  tmp = await tempDir('abctl-context-');
  mkdirSync(join(tmp.path, 'content'));
  writeFileSync(join(tmp.path, 'content', 'app.conf'), 'name={{[server.name]}}\nport={{port}}\n');
  writeFileSync(join(tmp.path, 'content', 'secret.conf'), 'user=admin\npassword={{pw}}\n');
  writeFileSync(join(tmp.path, 'content', 'cert.pem'), 'CERT\n');
  writeFileSync(join(tmp.path, 'content', 'users.xml'), '<user name="admin" password="{{xml dbpw}}"/>\n');
  const appliance = new Appliance({
    name: 'web',
    creator: 'example',
    properties: [
      { name: 'server.name', value: 'www1' },
      { name: 'port', type: 'int', value: 8081 },
      { name: 'admin.password', type: 'password', value: 'pa55-word' },
      { name: 'db.password', type: 'password', value: 'x&y<"z' },
      { name: 'tls.cert', type: 'fileRef', value: 'contentresource:cert.pem' },
      { name: 'tls.key', type: 'fileRef', value: 'vault:secret/web/key' },
      { name: 'tls.ca', type: 'fileRef' },
    ],
    contentResources: [
      { name: 'app.conf', path: 'app.conf' },
      { name: 'secret.conf', path: 'secret.conf' },
      { name: 'cert.pem', path: 'cert.pem' },
      { name: 'users.xml', path: 'users.xml' },
    ],
    inputs: [{ name: 'http', port: 8081, protocols: ['http'] }],
    outputs: [{ name: 'db', protocol: 'sql' }],
  });
  const ldap = new ExternalResource({ name: 'ldap', properties: [{ name: 'host', value: 'ldap.example.org' }], inputs: [{ name: 'ldap', port: 389, protocols: ['ldap'] }] });
  const state = {
    bundleDir: tmp.path,
    manifest: {
      formatVersion: 1, deployment: 'd', assembly: 'site', appliance: 'web', instanceIndex: 2, chain: ['example'], plugins: [], fileSets: [],
      contentResources: { 'app.conf': 'content/app.conf', 'secret.conf': 'content/secret.conf', 'cert.pem': 'content/cert.pem', 'users.xml': 'content/users.xml' }, createdAt: '', sdkVersion: SDK_VERSION,
    },
    appliance,
    assembly: new Assembly({ name: 'site', members: [appliance, ldap] }),
    bindings: {
      instance: { hostName: 'web-2.test', addresses: ['10.0.0.12'], index: 2 },
      outputs: { db: [{ appliance: 'db', input: 'sql', external: false, hostNames: ['db-1.test'], addresses: ['10.0.0.20'], port: 5432, properties: { dbname: 'app' } }] },
    },
  };
  ctx = new LifecycleContexts(state, { operation: 'rehydrate', signal: new AbortController().signal, sink: (l) => lines.push(l) }).for('example');
});
afterAll(() => tmp.cleanup());

describe('what the context shows', () => {
  it('the appliance with effective values, peers of connected outputs, this instance and the assembly', () => {
    expect(ctx.appliance.property('server.name')).toBe('www1');
    expect(() => ctx.appliance.property('admin.password')).toThrow(/is a password; its value is only given by revealPassword/);
    expect(ctx.appliance.properties.find((p) => p.name === 'admin.password')).toMatchObject({ value: undefined, hasValue: true });
    expect(ctx.appliance.outputs[0]?.peers[0]).toMatchObject({ appliance: 'db', hostNames: ['db-1.test'], port: 5432 });
    expect(ctx.instance).toEqual({ hostName: 'web-2.test', addresses: ['10.0.0.12'], index: 2 });
    expect(ctx.navigator.members()).toEqual(['web', 'ldap']);
    expect(ctx.navigator.member('ldap')).toMatchObject({ external: true, inputs: [{ name: 'ldap', port: 389 }] });
    expect(ctx.password('admin.password')).toBe('pa55-word');
  });

  it('resolves fileRef properties: contentresource only; other schemes are skipped, not errors', () => {
    expect(ctx.resolveFileRef('tls.cert')).toEqual({ kind: 'contentResource', name: 'cert.pem', path: join(tmp.path, 'content', 'cert.pem') });
    expect(ctx.resolveFileRef('tls.key')).toMatchObject({ kind: 'skipped', uri: 'vault:secret/web/key' });
    expect(ctx.resolveFileRef('tls.ca')).toEqual({ kind: 'unset' });
    expect(() => ctx.resolveFileRef('port')).toThrow(/is a int, not a fileRef/);
  });
});

describe('helpers', () => {
  it('renders a template with the effective values; an unknown variable is an error naming template and variable', async () => {
    const dest = join(tmp.path, 'out', 'app.conf');
    await ctx.renderContentResource('app.conf', dest, { mode: 0o640 });
    expect(readFileSync(dest, 'utf8')).toBe('name=www1\nport=8081\n');
    expect(statSync(dest).mode & 0o777).toBe(0o640);
    await expect(ctx.renderContentResource('secret.conf', join(tmp.path, 'out', 'x'))).rejects.toMatchObject({ code: 'TEMPLATE_VARIABLE_NO_VALUE', message: 'variable "pw" has no value', where: 'template "secret.conf" line 2, column 12' });
  });

  it('a rendered file that holds a password gets 0600, whatever mode was asked', async () => {
    const dest = join(tmp.path, 'out', 'secret.conf');
    await ctx.renderContentResource('secret.conf', dest, { mode: 0o644, variables: { pw: ctx.password('admin.password') } });
    expect(readFileSync(dest, 'utf8')).toContain('password=pa55-word');
    expect(statSync(dest).mode & 0o777).toBe(0o600);
    expect(lines.join('\n')).toContain('holds a password: mode 0600 instead of 644');
  });

  it('a file holding a password only as a helper wrote it (XML-escaped) is 0600 too', async () => {
    const dest = join(tmp.path, 'out', 'users.xml');
    await ctx.renderContentResource('users.xml', dest, { mode: 0o644, variables: { dbpw: ctx.password('db.password') } });
    expect(readFileSync(dest, 'utf8')).toBe('<user name="admin" password="x&amp;y&lt;&quot;z"/>\n');
    expect(statSync(dest).mode & 0o777).toBe(0o600);
  });

  it('copies a content resource by URI and sets owner, group and mode', async () => {
    const dest = join(tmp.path, 'out', 'cert.pem');
    await ctx.copyFile('contentresource:cert.pem', dest, { owner: 'root', group: 'root', mode: 0o444 });
    expect(readFileSync(dest, 'utf8')).toBe('CERT\n');
    expect(statSync(dest).mode & 0o777).toBe(0o444);
    await expect(ctx.setOwnership(dest, { owner: 'abctl-no-such-user' })).rejects.toThrow(/user "abctl-no-such-user" does not exist on this machine/);
  });

  it('runs a program with an argument array, no shell, the environment kept off every command line', async () => {
    const r = await ctx.run({
      argv: ['/bin/sh', '-c', 'echo "$0|$DB_PASSWORD" ; tr -d "\\0" < /proc/$$/cmdline; echo; echo err >&2; exit 3', '$(not expanded)'],
      env: { DB_PASSWORD: 'pa55-word' },
      user: 'root',
    });
    expect(r.exitCode).toBe(3);
    expect(r.stdout.split('\n')[0]).toBe('$(not expanded)|pa55-word');
    expect(r.stdout.split('\n')[1]).not.toContain('pa55-word');
    expect(r.stderr).toBe('err\n');
    await expect(ctx.run({ argv: ['/bin/sleep', '5'], timeoutMs: 200 })).rejects.toMatchObject({ code: 'RUN_TIMEOUT' });
    expect((await ctx.run({ argv: ['/no/such/program'] })).exitCode).toBe(127);
    // Input the program never reads (its end of the pipe is closed): the run still just ends.
    expect((await ctx.run({ argv: ['/bin/true'], input: 'x'.repeat(1 << 20) })).exitCode).toBe(0);
  });

  it('keeps password values out of log lines', () => {
    ctx.log.info('connecting with pa55-word');
    expect(lines.at(-1)).toBe('[example] connecting with ********');
  });
});

describe('the Node.js check', () => {
  it('names the version found and what to install', () => {
    expect(() => checkNodeVersion('18.19.0')).toThrow('the abctl agent needs Node.js 20 or later; this machine has 18.19.0');
    expect(() => checkNodeVersion('20.0.0')).not.toThrow();
  });
});
