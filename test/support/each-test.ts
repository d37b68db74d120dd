/**
 * Test workspaces: each registers its own hooks (beforeEach/afterEach; beforeAll/afterAll for SSH
 * hosts shared by a file), so a test file says what it needs in one line instead of repeating the
 * variables and the hooks. Read the fields inside tests and hooks, never at module level.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { Application } from '../../services/app.js';
import { openApp } from '../introspection/helpers.js';
import { startHosts, type TestHosts } from './hosts.mjs';

export interface TempDirEach {
  /** A new empty directory for the running test, removed after it. */
  readonly path: string;
}

/** A fresh temp directory for every test of the file (or of the describe block it is called in). */
export function tempDirEach(prefix: string): TempDirEach {
  let path: string | undefined;
  beforeEach(async () => {
    path = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    if (path !== undefined) await rm(path, { recursive: true, force: true });
    path = undefined;
  });
  return {
    get path(): string {
      if (path === undefined) throw new Error('tempDirEach: read .path inside a test or hook, not at module level');
      return path;
    },
  };
}

export interface InstanceEach extends TempDirEach {
  /** `<path>/instance`, the abctl instance (made by the first `open`). */
  readonly instance: string;
  /** `<path>/plugins`, created empty: the bundled plugins directory. */
  readonly bundled: string;
  /** `<path>/product`, not created: where a test puts its product tree. */
  readonly product: string;
  /** The application `open` gave this test, if any. */
  readonly app: Application | undefined;
  /** Opens the application on this test's instance and plugins; it is stopped after the test. */
  open(): Promise<Application>;
}

/**
 * An abctl instance in a fresh temp dir for every test, with an empty bundled plugins directory;
 * `setup` then runs (write plugins, build a product tree). The application a test opens is
 * stopped before the directory goes.
 */
export function instanceEach(prefix: string, setup?: (t: InstanceEach) => Promise<void>): InstanceEach {
  const dir = tempDirEach(prefix);
  let app: Application | undefined;
  // Registered after tempDirEach's hooks: vitest runs afterEach hooks in reverse order (its
  // default 'stack' sequence), so the application stops before its directory is removed.
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });
  const t: InstanceEach = {
    get path() {
      return dir.path;
    },
    get instance() {
      return join(dir.path, 'instance');
    },
    get bundled() {
      return join(dir.path, 'plugins');
    },
    get product() {
      return join(dir.path, 'product');
    },
    get app() {
      return app;
    },
    async open() {
      app = await openApp(t.instance, t.bundled);
      return app;
    },
  };
  beforeEach(async () => {
    await mkdir(t.bundled);
    await setup?.(t);
  });
  return t;
}

export interface SshHostsForFile {
  /** The SSH test hosts, started once for the file (or describe block). */
  readonly hosts: TestHosts;
  /** A temp directory that lives as long as the hosts. */
  readonly tmp: { readonly path: string };
}

/**
 * `count` SSH test hosts and a temp directory, shared by the tests of the file (or of the
 * describe block it is called in): started before the first test, stopped after the last.
 */
export function sshHostsForFile(count: number, prefix: string): SshHostsForFile {
  let hosts: TestHosts | undefined;
  let path: string | undefined;
  beforeAll(async () => {
    hosts = await startHosts(count);
    path = await mkdtemp(join(tmpdir(), prefix));
  }, 60_000);
  afterAll(async () => {
    await hosts?.stop();
    if (path !== undefined) await rm(path, { recursive: true, force: true });
  });
  const unset = (what: string): never => {
    throw new Error(`sshHostsForFile: read .${what} inside a test or hook, not at module level`);
  };
  return {
    get hosts(): TestHosts {
      return hosts ?? unset('hosts');
    },
    get tmp(): { readonly path: string } {
      return { path: path ?? unset('tmp') };
    },
  };
}
