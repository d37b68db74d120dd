/**
 * createBase (services/image/base-builder.ts): the packages, users and groups of the plugins'
 * requirements go into a root file system that then passes the same check createTemplate runs.
 * A real debootstrap takes minutes and the network, so here it is replaced by a stand-in that
 * copies the small root file system the image tests use (test/support/podman.mjs) and records
 * its arguments: on PATH for the CLI, as `bootstrap` for the service. Accounts are added by the
 * real useradd/groupadd; the check is the real one. The e2e test (test/products/stack.e2e.test.ts)
 * runs the real debootstrap.
 */
import { chmod, cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginError, UserError } from '../../core/errors.js';
import type { Application } from '../../services/app.js';
import { IntrospectJob } from '../../services/jobs/introspect-job.js';
import { aptSources, buildBase, contentsOf, defaultMirror, updateSources, type BootstrapRun } from '../../services/image/base-builder.js';
import { ValidationService, type Participant } from '../../services/validation/module.js';
import { tempDir } from '../helpers/plugins.js';
import { abctl, cliEnv, examplePlugins, openApp, rejection } from '../introspection/helpers.js';
import { testRootfs } from '../support/podman.mjs';
import { setRequirements, writeRequirementsPlugin } from '../validation/fixture.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('abctl-createbase-');
});
afterAll(async () => {
  await tmp?.cleanup();
});

/** Copies the test root file system into `dir`, as debootstrap would fill it. */
async function copyRootfs(dir: string, run: BootstrapRun): Promise<void> {
  run.onProgress(`I: stand-in for debootstrap ${run.suite}`);
  await cp(testRootfs(), dir, { recursive: true, verbatimSymlinks: true });
}

describe('apt sources', () => {
  it('reads the mirror of a suite from deb822 and one-line sources, skipping -security and disabled ones', async () => {
    const sources = aptSources([
      { name: 'debian.sources', text: 'Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\nTypes: deb deb-src\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nEnabled: no\nURIs: http://off.example/\nSuites: trixie\n' },
      { name: 'sources.list', text: '# comment\ndeb [arch=amd64] http://old.example/debian bullseye main\n' },
    ]);
    expect(sources).toEqual([
      { uri: 'http://mirror.example/debian-security', suites: ['bookworm-security'] },
      { uri: 'http://mirror.example/debian/', suites: ['bookworm', 'bookworm-updates'] },
      { uri: 'http://old.example/debian', suites: ['bullseye'] },
    ]);
    const etc = join(tmp.path, 'apt');
    await mkdir(join(etc, 'sources.list.d'), { recursive: true });
    await writeFile(join(etc, 'sources.list.d', 'debian.sources'), 'Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n');
    expect(defaultMirror('bookworm', etc)).toBe('http://mirror.example/debian');
    // The base is upgraded from the update suites apt uses here, each from its own archive.
    expect(updateSources('bookworm', sources)).toEqual([
      { uri: 'http://mirror.example/debian', suite: 'bookworm-updates' },
      { uri: 'http://mirror.example/debian-security', suite: 'bookworm-security' },
    ]);
    expect(updateSources('bullseye', sources)).toEqual([]);
    expect(defaultMirror('trixie', etc)).toBe('http://deb.debian.org/debian');
  });

  it('takes packages, users and groups from requirements; kernel parameters and swap install nothing', () => {
    expect(
      contentsOf(
        [
          { kind: 'package', name: 'libc6', minVersion: '2.28' },
          { kind: 'user', name: 'svc' },
          { kind: 'group', name: 'svc' },
          { kind: 'kernelParameter', name: 'net.core.somaxconn', minimum: 128 },
          { kind: 'swap', minimum: 10 },
          { kind: 'package', name: 'libc6' },
        ],
        ['curl'],
      ),
    ).toEqual({ packages: ['curl', 'libc6'], groups: ['svc'], users: ['svc'] });
  });
});

describe('abctl createBase', () => {
  it('installs the example plugin\'s packages with --include, and the base passes the check (debootstrap stood in for)', async () => {
    const bin = join(tmp.path, 'bin');
    await mkdir(bin, { recursive: true });
    const argsFile = join(tmp.path, 'debootstrap.args');
    // The last two arguments of debootstrap are the target directory and the mirror.
    await writeFile(join(bin, 'debootstrap'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${argsFile}\nfor a; do target=$dir; dir=$a; done\necho "I: Retrieving Release"\ncp -a ${testRootfs()} "$target"\n`);
    await chmod(join(bin, 'debootstrap'), 0o755);
    const env = cliEnv(join(tmp.path, 'instance-cli'), examplePlugins, { PATH: `${bin}:${process.env['PATH'] ?? ''}` });
    const out = join(tmp.path, 'cli-base');
    // --no-updates: the stand-in makes no system that apt-get could upgrade (the e2e test does that).
    const r = abctl(['createBase', '--plugin', 'example', '--out', out, '--include', 'ca-certificates', '--mirror', 'http://mirror.example/debian', '--no-updates', '--json'], env);
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const args = (await readFile(argsFile, 'utf8')).trim().split('\n');
    expect(args[0]).toBe('--variant=minbase');
    expect(args[1]).toBe('--include=ca-certificates,libc6,libstdc++6');
    expect(args[2]).toBe('bookworm');
    expect(args[3]).toMatch(new RegExp(`^${out}\\.partial-[0-9a-f]{8}$`));
    expect(args[4]).toBe('http://mirror.example/debian');
    expect(JSON.parse(r.out)).toMatchObject({ dir: out, suite: 'bookworm', updates: [], packages: ['ca-certificates', 'libc6', 'libstdc++6'], users: [], groups: [] });
    expect((await readdir(tmp.path)).filter((f) => f.includes('.partial-'))).toEqual([]);
    // The same check createTemplate runs, on its own, passes for the example appliance's plugin.
    expect(existsSync(join(out, 'etc/passwd'))).toBe(true);

    const again = abctl(['createBase', '--plugin', 'example', '--out', out], env);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already exists');
    const unknown = abctl(['createBase', '--plugin', 'nosuch', '--out', join(tmp.path, 'x')], env);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no plugin named nosuch');
  }, 120_000);
});

describe('buildBase with the requirement check', () => {
  let app: Application;
  let plugin: string;
  let participants: Participant[];
  let service: ValidationService;

  beforeAll(async () => {
    const bundled = join(tmp.path, 'plugins');
    await mkdir(join(tmp.path, 'product'), { recursive: true });
    await writeFile(join(tmp.path, 'product', 'file.txt'), 'x');
    // The appliance's file set belongs to svc:svcgrp; the plugin asks for a daemon account besides.
    plugin = await writeRequirementsPlugin(bundled, 'reqplug', { fileSet: { root: join(tmp.path, 'product'), owner: 'svc', group: 'svcgrp' } });
    app = await openApp(join(tmp.path, 'instance'), bundled);
    const jobs = app.get(IntrospectJob);
    await jobs.introspect(await jobs.prepare('reqplug'), {}, { deferCapture: true });
    service = app.get(ValidationService);
    participants = await service.participantsOf('app');
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
  });

  const build = async (out: string, bootstrap = copyRootfs, signal?: AbortSignal) =>
    buildBase({
      out,
      mirror: 'http://mirror.example/debian',
      contents: contentsOf(await service.declaredRequirements(participants)),
      bootstrap,
      ...(signal ? { signal } : {}),
      check: (dir, final) => service.checkNewBase(participants, dir, final, { warn: () => {} }).then(() => undefined),
    });

  it('adds the users and groups as system accounts, and the result passes the check', async () => {
    await setRequirements(plugin, [
      { kind: 'user', name: 'daemonx' },
      { kind: 'group', name: 'daemonx' },
      { kind: 'package', name: 'libc6', minVersion: '2.28' },
    ]);
    const out = join(tmp.path, 'accounts');
    const built = await build(out);
    expect(built.users).toEqual(['daemonx', 'svc']);
    expect(built.groups).toEqual(['daemonx', 'svcgrp']);
    const passwd = await readFile(join(out, 'etc/passwd'), 'utf8');
    const group = await readFile(join(out, 'etc/group'), 'utf8');
    const gid = (name: string) => /^[^:]+:[^:]*:(\d+):/m.exec(group.split('\n').find((l) => l.startsWith(`${name}:`)) ?? '')?.[1];
    // daemonx joins its own group; svc, with no group of its name required, gets one of its own.
    expect(passwd).toMatch(new RegExp(`^daemonx:[^:]*:\\d+:${gid('daemonx')}:[^:]*:/nonexistent:/usr/sbin/nologin$`, 'm'));
    expect(passwd).toMatch(new RegExp(`^svc:[^:]*:\\d+:${gid('svc')}:`, 'm'));
    expect(gid('svcgrp')).toBeDefined();
    // System accounts: ids below 1000.
    for (const name of ['daemonx', 'svc']) expect(Number(/^[^:]+:[^:]*:(\d+):/m.exec(passwd.split('\n').find((l) => l.startsWith(`${name}:`)) ?? '')?.[1])).toBeLessThan(1000);
    const report = await service.checkNewBase(participants, out, out);
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
  }, 60_000);

  it('refuses a base that still misses a requirement, and keeps nothing', async () => {
    await setRequirements(plugin, [{ kind: 'package', name: 'libnothere1' }]);
    const out = join(tmp.path, 'missing');
    const err = await rejection(build(out));
    expect(err).toBeInstanceOf(UserError);
    expect(err.code).toBe('REQUIREMENTS_UNMET');
    expect(err.message).toContain('libnothere1');
    expect(err.message).toContain(`root file system ${out}`);
    expect(existsSync(out)).toBe(false);
    expect((await readdir(tmp.path)).filter((f) => f.startsWith('missing.partial-'))).toEqual([]);
  }, 60_000);

  it('says what debootstrap said when it fails, and stops at once on Ctrl-C, keeping nothing', async () => {
    await setRequirements(plugin, []);
    const failing = async (dir: string): Promise<void> => {
      await mkdir(join(dir, 'etc'), { recursive: true });
      throw new UserError('BASE_BUILD_FAILED', 'debootstrap bookworm failed (exit 1):\n  E: Couldn\'t find these debs: libnothere1');
    };
    const failed = await rejection(build(join(tmp.path, 'failed'), failing));
    expect(failed.message).toContain("Couldn't find these debs");
    const controller = new AbortController();
    const hanging = async (dir: string, run: BootstrapRun): Promise<void> => {
      await mkdir(join(dir, 'etc'), { recursive: true });
      await new Promise((_, reject) => run.signal?.addEventListener('abort', () => reject(new UserError('BASE_BUILD_FAILED', 'interrupted'))));
    };
    setTimeout(() => controller.abort(), 200);
    const stopped = await rejection(build(join(tmp.path, 'stopped'), hanging, controller.signal));
    // Reported as an interrupted job (exit 130), saying the build starts over rather than resumes.
    expect(stopped).toMatchObject({ code: 'JOB_INTERRUPTED' });
    expect(stopped.message).toContain('run it again to start over');
    expect((await readdir(tmp.path)).filter((f) => f.startsWith('failed') || f.startsWith('stopped'))).toEqual([]);
  }, 60_000);

  it('refuses when a plugin\'s requirements cannot be read: that plugin\'s error, before anything is made', async () => {
    await setRequirements(plugin, [{ kind: 'package' }]);
    const err = await rejection(service.declaredRequirements(participants));
    expect(err).toBeInstanceOf(PluginError);
    expect(err.message).toContain('reqplug');
  });
});
