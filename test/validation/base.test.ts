/**
 * Base image checks with real parts: plugins installed as real directories and started by the
 * application, an appliance introspected into a real catalog, and root file systems written as
 * real files. Each case changes what the plugin and its extension declare, then checks a base.
 */
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbError, PluginError, UserError } from '../../core/errors.js';
import type { Application } from '../../services/app.js';
import { IntrospectJob } from '../../services/jobs/introspect-job.js';
import { Catalog } from '../../catalog/index.js';
import { openBase, type BaseImage } from '../../services/image/base.js';
import { ValidationService, baseFilesOf, refusal, type BaseFiles, type Participant, type RequirementsReport } from '../../services/validation/module.js';
import { tempDir } from '../helpers/plugins.js';
import { openApp } from '../introspection/helpers.js';
import { makeLayout, makeRootFs, setRequirements, statusFile, writeRequirementsPlugin, type RootFsSpec } from './fixture.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let app: Application;
let plugin: string;
let extension: string;
let participants: Participant[];
let n = 0;
const opened: BaseImage[] = [];

/** A base as createTemplate opens it (services/image openBase), seen by the check. */
async function open(spec: string): Promise<BaseFiles> {
  const base = await openBase(spec);
  opened.push(base);
  return baseFilesOf(base);
}

const DEBIAN: RootFsSpec = { users: ['root', 'svc'], groups: ['root', 'svc'], packages: { libc6: '2.36-9+deb12u14', 'libstdc++6': '12.2.0-14+deb12u1' } };

beforeAll(async () => {
  tmp = await tempDir('abctl-baseval-');
  const bundled = join(tmp.path, 'plugins');
  await mkdir(join(tmp.path, 'product'), { recursive: true });
  await writeFile(join(tmp.path, 'product', 'file.txt'), 'x');
  plugin = await writeRequirementsPlugin(bundled, 'reqplug', { fileSet: { root: join(tmp.path, 'product'), owner: 'svc', group: 'svc' } });
  extension = await writeRequirementsPlugin(bundled, 'reqext', { parentName: 'reqplug' });
  app = await openApp(join(tmp.path, 'instance'), bundled);
  const jobs = app.get(IntrospectJob);
  await jobs.introspect(await jobs.prepare('reqplug'), {}, { deferCapture: true });
  participants = await app.get(ValidationService).participantsOf('app');
});
afterAll(async () => {
  for (const b of opened) await b.close();
  await app?.stop();
  await tmp?.cleanup();
});

async function check(spec: RootFsSpec, pluginReqs: unknown, extReqs: unknown = [], checks: Parameters<typeof setRequirements>[2] = undefined): Promise<{ report: RequirementsReport; dir: string; error: AbError | undefined }> {
  await setRequirements(plugin, pluginReqs, checks);
  await setRequirements(extension, extReqs);
  const dir = await makeRootFs(join(tmp.path, `base${++n}`), spec);
  const report = await app.get(ValidationService).checkBase(participants, await open(dir));
  return { report, dir, error: refusal([report], 'try again') };
}

describe('a base image against the plugins of an appliance', () => {
  it('passes a base that has everything, checking the plugin, its extension and the file set owner', async () => {
    const { report, error } = await check(DEBIAN, [{ kind: 'package', name: 'libc6', minVersion: '2.28' }, { kind: 'user', name: 'root' }], [{ kind: 'package', name: 'libstdc++6' }]);
    expect(error).toBeUndefined();
    expect(report.problems).toEqual([]);
    expect(report.plugins).toEqual(['reqplug', 'reqext']);
    // 2 of the plugin, 1 of the extension, user and group of the file set.
    expect(report.checked).toBe(5);
  });

  it('refuses a base lacking a package and names it, with the command that installs it', async () => {
    const { error, dir } = await check({ ...DEBIAN, packages: { libc6: '2.36-9' } }, [{ kind: 'package', name: 'libstdc++6', message: 'the runtime links against it' }]);
    expect(error).toBeInstanceOf(UserError);
    expect(error?.code).toBe('REQUIREMENTS_UNMET');
    expect(error?.message).toContain(`error: reqplug: package libstdc++6: not installed (needed for: the runtime links against it)`);
    expect(error?.message).toContain(`fix: chroot ${dir} apt-get install -y libstdc++6`);
  });

  it('passes once the package is present', async () => {
    const { dir } = await check({ ...DEBIAN, packages: { libc6: '2.36-9' } }, [{ kind: 'package', name: 'libstdc++6' }]);
    const before = await app.get(ValidationService).checkBase(participants, await open(dir));
    expect(before.problems.map((p) => p.requirement)).toEqual(['package libstdc++6']);
    await appendFile(join(dir, 'var/lib/dpkg/status'), `\n${statusFile({ 'libstdc++6': '12.2.0-14' })}`);
    const after = await app.get(ValidationService).checkBase(participants, await open(dir));
    expect(after.problems).toEqual([]);
  });

  it('refuses a version that is too old, and a package that is only half there', async () => {
    const { error } = await check(
      { ...DEBIAN, packages: { libc6: '2.24-11+deb9u4', 'libstdc++6': ['12.2.0-14', 'config-files'] } },
      [{ kind: 'package', name: 'libc6', minVersion: '2.28' }, { kind: 'package', name: 'libstdc++6' }],
    );
    expect(error?.message).toContain('error: reqplug: package libc6 >= 2.28: version 2.24-11+deb9u4 is older');
    expect(error?.message).toContain('apt-get install -y --only-upgrade libc6');
    expect(error?.message).toContain('error: reqplug: package libstdc++6: not fully installed (dpkg state config-files, version 12.2.0-14)');
  });

  it('refuses missing users and groups, including the owner of a file set', async () => {
    const { error, report, dir } = await check({ ...DEBIAN, users: ['root'], groups: ['root'] }, [{ kind: 'user', name: 'postgres' }, { kind: 'group', name: 'ssl-cert' }]);
    const lines = report.problems.map((p) => `${p.plugin}: ${p.requirement}: ${p.found}`);
    expect(lines.sort()).toEqual(['abctl: group svc: no such group', 'abctl: user svc: no such user', 'reqplug: group ssl-cert: no such group', 'reqplug: user postgres: no such user']);
    expect(error?.message).toContain(`fix: chroot ${dir} useradd --system postgres`);
    expect(error?.message).toContain(`fix: chroot ${dir} groupadd --system ssl-cert`);
    expect(error?.message).toContain('(needed for: file set home of app is owned by svc:svc)');
  });

  it('shows warnings without refusing; kernel parameters and swap are the node\'s, so an image only warns about them', async () => {
    const { error, report } = await check(
      DEBIAN,
      [{ kind: 'package', name: 'nginx', severity: 'warning' }, { kind: 'kernelParameter', name: 'vm.max_map_count', minimum: 262144 }, { kind: 'swap', minimum: 1024 }],
      [],
      { mode: 'messages', messages: [{ severity: 'warning', message: 'checked an {kind}' }] },
    );
    expect(error).toBeUndefined();
    expect(report.problems.map((p) => [p.severity, p.requirement, p.found.slice(0, 40)])).toEqual([
      ['warning', 'package nginx', 'not installed'],
      ['warning', 'kernel parameter vm.max_map_count >= 262144', 'not checked in an image: a container run'],
      ['warning', 'swap >= 1024 MiB', 'not checked in an image: a container run'],
      ['warning', 'its own check', 'checked an image'],
    ]);
  });

  it('lists every problem of the plugin and its extension at once', async () => {
    const { error } = await check(
      { users: ['root'], groups: ['root'], packages: { libc6: '2.19-18' } },
      [{ kind: 'package', name: 'libc6', minVersion: '2.28' }, { kind: 'user', name: 'app' }],
      [{ kind: 'package', name: 'logrotate' }, { kind: 'package', name: 'cron', severity: 'warning' }],
    );
    const lines = (error?.message ?? '').split('\n').filter((l) => /^\s+(error|warning):/.test(l)).map((l) => l.trim());
    expect(lines).toEqual([
      'error: abctl: user svc: no such user (needed for: file set home of app is owned by svc:svc)',
      'error: abctl: group svc: no such group (needed for: file set home of app is owned by svc:svc)',
      'error: reqplug: package libc6 >= 2.28: version 2.19-18 is older',
      'error: reqplug: user app: no such user',
      'error: reqext: package logrotate: not installed',
      'warning: reqext: package cron: not installed',
    ]);
    expect(error?.message).toMatch(/^base root file system \S+ does not meet the requirements of the plugins \(5 errors\):/);
  });

  it("reports a plugin whose check throws as that plugin's error, still listing the other problems", async () => {
    const { error } = await check(DEBIAN, [{ kind: 'package', name: 'absent-pkg' }], [], { mode: 'throw', message: 'cannot parse /etc/os-release' });
    expect(error).toBeInstanceOf(PluginError);
    expect((error as PluginError).plugin).toBe('reqplug');
    expect(error?.code).toBe('REQUIREMENTS_CHECK_FAILED');
    expect(error?.message).toContain('error: reqplug: its validateBase(): validateBase failed: cannot parse /etc/os-release');
    expect(error?.message).toContain('error: reqplug: package absent-pkg: not installed');
  });

  it('reports requirements a plugin declared wrongly, each named, as that plugin\'s error', async () => {
    const { error } = await check(DEBIAN, [{ kind: 'package', name: 'libc6', minVersion: 'two' }, { kind: 'disk', name: 'x' }, { kind: 'kernelParameter', name: '../../etc/shadow', minimum: 1 }]);
    expect(error).toBeInstanceOf(PluginError);
    expect(error?.message).toContain('requirement 1: minVersion "two" is not a Debian version: the upstream version does not start with a digit');
    expect(error?.message).toContain('requirement 2: kind must be user, group, package, kernelParameter or swap, not "disk"');
    expect(error?.message).toContain('requirement 3: kernel parameter "../../etc/shadow" is not a sysctl name');
    const nonsense = await check(DEBIAN, [], [], { mode: 'nonsense' });
    expect(nonsense.error?.message).toContain("reqplug: its validateBase(): it must return an array of { severity: 'warning' | 'rejection', message: string }");
  });

  it('says when a base is not Debian-like (no dpkg records: packages only warn), and refuses a base that does not exist', async () => {
    const dir = join(tmp.path, 'bare');
    await mkdir(join(dir, 'etc'), { recursive: true });
    await setRequirements(plugin, [{ kind: 'package', name: 'libc6' }]);
    await setRequirements(extension, []);
    const report = await app.get(ValidationService).checkBase(participants, await open(dir));
    expect(report.problems.map((p) => p.found)).toEqual([
      'the base has no /etc/passwd',
      'the base has no /etc/group',
      'not checked: the base has no dpkg database (/var/lib/dpkg/status), so Debian packages cannot be looked up; make sure the files it provides are there',
    ]);
    expect(report.problems.map((p) => p.severity)).toEqual(['error', 'error', 'warning']);
    await expect(open(join(tmp.path, 'nowhere'))).rejects.toMatchObject({ code: 'IMAGE_BASE_INVALID', message: expect.stringContaining('does not exist') });
  });

  it("createTemplate's check refuses before an image is written and shows warnings once it passes", async () => {
    await setRequirements(plugin, [{ kind: 'package', name: 'libstdc++6' }, { kind: 'swap', minimum: 256 }]);
    await setRequirements(extension, []);
    const lower = await makeRootFs(join(tmp.path, 'layer1'), { ...DEBIAN, packages: { libc6: '2.36-9' } });
    // A second layer that installed the C++ runtime: dpkg's status file as that layer left it.
    const upper = join(tmp.path, 'layer2');
    await mkdir(join(upper, 'var/lib/dpkg'), { recursive: true });
    await writeFile(join(upper, 'var/lib/dpkg/status'), statusFile(DEBIAN.packages));
    const service = app.get(ValidationService);
    const appliances = [{ label: 'app', appliance: await app.get(Catalog).getAppliance('app') }];

    const one = await openBase(await makeLayout(join(tmp.path, 'layout1'), [lower]));
    opened.push(one);
    await expect(service.beforeImage(one, appliances, { warn: () => {} })).rejects.toMatchObject({
      code: 'REQUIREMENTS_UNMET',
      message: expect.stringContaining('fix: in the build of the base image (e.g. a RUN line): apt-get install -y libstdc++6'),
    });
    const two = await openBase(await makeLayout(join(tmp.path, 'layout2'), [lower, upper]));
    opened.push(two);
    const warnings: string[] = [];
    const report = await service.beforeImage(two, appliances, { warn: (l) => warnings.push(l) });
    expect(report.problems.map((p) => p.requirement)).toEqual(['swap >= 256 MiB']);
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^base image ${join(tmp.path, 'layout2')}: warning: reqplug: swap >= 256 MiB: not checked in an image`))]);
  });
});
