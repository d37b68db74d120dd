/**
 * The shipped example plugin against a real minihttpd (a copy of examples/minihttpd on a
 * free port), through the built CLI: its packager validation refuses while the server
 * runs, discovery finds the copy, and a newer plugin shipped in the product home stops
 * the introspection (upgrade check).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/plugins.js';
import { abctl, catalogFingerprint, cliEnv, copyMinihttpd, examplePlugins, freePort, tarListing } from './helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let instance: string;
let env: NodeJS.ProcessEnv;
let server: ChildProcess | undefined;

beforeEach(async () => {
  tmp = await tempDir('abctl-example-');
  instance = join(tmp.path, 'instance');
  // The project's own plugins/ (example and examplelogs), as a user gets them.
  env = cliEnv(instance, examplePlugins);
});
afterEach(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
  }
  server = undefined;
  await tmp.cleanup();
});

async function startMinihttpd(home: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(home, 'bin', 'minihttpd.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`minihttpd exited with ${code}: ${out}`)));
  });
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  expect(await health.text()).toBe('ok minihttpd-reference\n');
  return child;
}

describe('example plugin', () => {
  it('refuses to capture minihttpd while it runs, with a hint whose two ways both work once it is stopped', async () => {
    const port = await freePort();
    const home = await copyMinihttpd(join(tmp.path, 'minihttpd'), port);
    server = await startMinihttpd(home, port);
    const pid = Number((await readFile(join(home, 'run', 'minihttpd.pid'), 'utf8')).trim());

    const refused = abctl(['introspectexample', '--home', home], env);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`example refused the capture of minihttpd-reference: minihttpd is running (pid ${pid}); stop it before capturing its files`);
    // Nothing was stored, so the hint offers the two ways that work, with the real appliance name.
    expect(refused.err).toContain(
      'hint: nothing was stored; fix what it reports (e.g. stop the product) and introspect again, or introspect with --defer-capture and run abctl captureFileSets --appliance minihttpd-reference once the files may be captured',
    );
    expect(catalogFingerprint(instance).size).toBe(0);
    // Following the second way while the server still runs: metadata now, and the summary names the command to run.
    const deferred = abctl(['introspectexample', '--home', home, '--defer-capture', '--name', 'deferred'], env);
    expect(deferred.code).toBe(0);
    expect(deferred.out).toContain('file sets not captured yet: run abctl captureFileSets --appliance deferred');
    const stillRunning = abctl(['captureFileSets', '--appliance', 'deferred'], env);
    expect(stillRunning.code).toBe(1);
    expect(stillRunning.err).toContain('hint: the catalog was not changed; fix what it reports (e.g. stop the product), then run abctl captureFileSets --appliance deferred again');

    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
    expect(existsSync(join(home, 'run', 'minihttpd.pid'))).toBe(false);
    const later = abctl(['captureFileSets', '--appliance', 'deferred'], env);
    expect(later.err).toBe('');
    expect(later.code).toBe(0);
    expect(later.out).toContain('captured deferred/home:');
    // The config its template renders, which holds the reference's password, is left out and said so
    // (captureFileSets reads the template from the catalog).
    expect(later.out).toContain('  skipped conf/server.properties (template-with-password)\n');
    // The first way: introspect again.
    const ok = abctl(['introspectexample', '--home', home, '--json'], env);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    const summary = JSON.parse(ok.out) as { name: string; captured: { files: number }[]; appliances: { properties: number; inputs: number }[] };
    expect(summary.name).toBe('minihttpd-reference');
    expect(summary.appliances[0]?.inputs).toBe(1);
    expect(summary.captured[0]?.files).toBeGreaterThan(0);
    // The admin password from server.properties is stored encrypted only.
    const xml = await readFile(join(instance, 'catalog', 'appliances', 'minihttpd-reference', 'appliance.xml'), 'utf8');
    expect(xml).toContain('enc:v1:');
    expect(xml).not.toContain('change-me');
    // ... and nowhere in the file set archive, whose server.properties is left out (rehydrate renders it).
    const summaryWarnings = (JSON.parse(ok.out) as { warnings: string[] }).warnings;
    expect(summaryWarnings).toContain('minihttpd-reference/home: skipped conf/server.properties (template-with-password)');
    const archive = join(instance, 'catalog', 'appliances', 'minihttpd-reference', 'filesets', 'home.tar.gz');
    const names = tarListing(archive).map((e) => e.name);
    expect(names).toContain('./conf/logging.properties');
    expect(names).not.toContain('./conf/server.properties');
    expect(gunzipSync(await readFile(archive)).toString('latin1')).not.toContain('change-me');
  });

  it('discover --json lists the installation with the parameters that introspect it', async () => {
    const search = join(tmp.path, 'search');
    await mkdir(search);
    const home = await copyMinihttpd(join(search, 'mh'));
    const r = abctl(['discover', '--json'], { ...env, AB_EXAMPLE_SEARCH: search });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { host: string; plugins: { plugin: string; installations: { description: string; parameters: Record<string, unknown> }[]; error?: string }[] };
    expect(report.host).toBe('local');
    const example = report.plugins.find((p) => p.plugin === 'example');
    expect(example?.error).toBeUndefined();
    const found = example?.installations.find((i) => i.parameters.home === home);
    const version = (await readFile(join(home, 'VERSION'), 'utf8')).trim();
    expect(found).toEqual({ description: `minihttpd ${version} in ${home}`, parameters: { home } });

    // The text form prints a command line; run exactly those parameters.
    const text = abctl(['discover'], { ...env, AB_EXAMPLE_SEARCH: search });
    expect(text.out).toContain(`abctl introspectexample --home ${home}`);
    const run = abctl(['introspectexample', ...Object.entries(found!.parameters).flatMap(([k, v]) => [`--${k}`, String(v)])], env);
    expect(run.code).toBe(0);
  });

  it('stops with PLUGIN_UPGRADE_REQUIRED when the product home ships a newer example plugin', async () => {
    const home = await copyMinihttpd(join(tmp.path, 'minihttpd'));
    const shipped = join(home, 'plugins', 'introspector', 'example');
    await cp(join(examplePlugins, 'example'), shipped, { recursive: true });
    const config = join(shipped, 'plugin.config');
    await writeFile(config, (await readFile(config, 'utf8')).replace(/^version=.*$/m, 'version=1.1'));
    // Something in the catalog first, so that "unchanged" is not trivially true.
    expect(abctl(['introspectexample', '--home', await copyMinihttpd(join(tmp.path, 'other')), '--name', 'other'], env).code).toBe(0);
    const before = catalogFingerprint(instance);

    const r = abctl(['introspectexample', '--home', home], env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('newer plugin versions ship with the product being introspected');
    expect(r.err).toContain(`example 1.0 -> 1.1 (in ${shipped})`);
    expect(r.err).toContain(`hint: upgrade first: abctl installPlugins --from ${home}`);
    expect(catalogFingerprint(instance)).toEqual(before);
  });
});
