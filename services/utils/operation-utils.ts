/**
 * The utilities of one operation (an introspection's dehydrate, or an agent's rehydrate, start,
 * stop or ping): what `ctx.utils` is, one view per plugin over shared parts. The operation owns
 * what the utilities leave behind (temporary files, SSH connections) and `close()` releases all
 * of it when the operation ends, whether it succeeded or not.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TextDecoder } from 'node:util';
import { PluginError, UserError, environmentError } from '../../core/errors.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import type { HostRunOptions } from '../host/ssh-host.js';
import { buildContentTemplate, checkContentVariable, type ContentRule } from '../../core/templates/index.js';
import type {
  BuiltContent,
  ContentBuilder,
  ContentSource,
  ContentVariableOptions,
  HostCache,
  ImplementationTable,
  SshConnection,
  SshOptions,
  StopProcessOptions,
  UtilFactory,
  UtilRunRequest,
  UtilRunResult,
} from '../../core/util-contract.js';
import { processAlive } from '../process-alive.js';
import { runProgram } from '../rehydration/host-ops.js';
import { FileHostCache } from './host-cache.js';
import { loadImplementation } from './implementations.js';
import { openSshConnection } from './ssh-connection.js';

/** Same default as ctx.run on an instance. */
const DEFAULT_RUN_TIMEOUT_MS = 60_000;
const SAFE_AFFIX = /^[A-Za-z0-9._-]*$/;
/** stopProcess/waitForExit: default limit, and how often they look. */
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const EXIT_POLL_MS = 100;
const STOP_SIGNALS: ReadonlySet<string> = new Set(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2']);

export interface OperationScope {
  /**
   * `reference`: dehydrate; commands and content files are the reference host's. `instance`:
   * a lifecycle hook on the instance itself.
   */
  readonly where: 'reference' | 'instance';
  /** The reference host (for `reference`). */
  readonly host?: ReferenceHost;
  /** The default cache host: the reference host's description, or the instance's host name. */
  readonly hostName: string;
  /** Directory under which the operation's temporary files go (made private and removed by close()). */
  readonly tempParent: string;
  /** abctl's state directory for the cache. */
  readonly cacheDir: string;
  readonly signal?: AbortSignal | undefined;
}

export interface PluginRef {
  readonly name: string;
  readonly directory: string;
}

export class OperationUtils {
  #tempRoot: Promise<string> | undefined;
  readonly #connections = new Set<SshConnection>();
  #closed = false;

  constructor(readonly scope: OperationScope) {}

  /** `ctx.utils` for one participant. */
  forPlugin(plugin: PluginRef): UtilFactory {
    const scope = this.scope;
    return Object.freeze({
      sdkVersion: SDK_VERSION,
      ssh: (target: string, options: SshOptions = {}) => this.#ssh(target, options),
      contentBuilder: (source: ContentSource) => this.#contentBuilder(plugin, source),
      run: (request: UtilRunRequest) => this.#run(plugin, request),
      tempFile: (options: { prefix?: string; suffix?: string; content?: string | Uint8Array } = {}) => this.#tempFile(plugin, options),
      tempDir: (options: { prefix?: string } = {}) => this.#tempDir(plugin, options),
      cache: (host?: string): HostCache => new FileHostCache(scope.cacheDir, plugin.name, host ?? scope.hostName),
      loadImplementation: <T>(version: string, table: ImplementationTable) => loadImplementation<T>(plugin.name, plugin.directory, version, table),
      stopProcess: (pid: number, options: StopProcessOptions = {}) => this.#stopProcess(plugin, pid, options),
      waitForExit: (pid: number, timeoutMs?: number) => this.#waitForExit(plugin, 'waitForExit()', pid, timeoutMs),
    });
  }

  /** Closes the connections plugins left open and removes the temporary files. */
  async close(): Promise<void> {
    this.#closed = true;
    const open = [...this.#connections];
    this.#connections.clear();
    await Promise.allSettled(open.map((c) => c.close()));
    const root = this.#tempRoot;
    this.#tempRoot = undefined;
    if (root) await rm(await root.catch(() => ''), { recursive: true, force: true }).catch(() => undefined);
  }

  #open(what: string): void {
    if (this.#closed) {
      throw new UserError('UTIL_NOT_IN_OPERATION', `${what} was called after the operation ended`, { hint: 'use ctx.utils only while the hook that received it runs' });
    }
  }

  async #ssh(target: string, options: SshOptions): Promise<SshConnection> {
    this.#open('ssh()');
    let connection: SshConnection | undefined;
    connection = await openSshConnection(target, options, () => {
      if (connection) this.#connections.delete(connection);
    });
    this.#connections.add(connection);
    return connection;
  }

  async #contentBuilder(plugin: PluginRef, source: ContentSource): Promise<ContentBuilder> {
    const { text, name } = await this.#sourceText(plugin, source);
    const rules: ContentRule[] = [];
    const builder: ContentBuilder = {
      variable(variable: string, match: string | RegExp, options: ContentVariableOptions = {}) {
        checkContentVariable(variable, match, options);
        rules.push({ name: variable, match, options });
        return builder;
      },
      build(resource: string, options: { description?: string; exposeAs?: string } = {}): BuiltContent {
        const { content, variables } = buildContentTemplate(text, rules, name, resource);
        return {
          name: resource,
          content,
          template: true,
          variables,
          ...(options.description !== undefined ? { description: options.description } : {}),
          ...(options.exposeAs !== undefined ? { exposeAs: options.exposeAs } : {}),
        };
      },
    };
    return builder;
  }

  async #sourceText(plugin: PluginRef, source: ContentSource): Promise<{ text: string; name: string }> {
    let bytes: Uint8Array;
    let name: string;
    if (source !== null && typeof source === 'object' && 'path' in source && typeof source.path === 'string') {
      name = source.path;
      // In dehydrate the file is the reference host's (read-only access, local or SSH).
      bytes = this.scope.where === 'reference' && this.scope.host ? await this.scope.host.readFile(source.path) : await readFile(source.path);
    } else if (source !== null && typeof source === 'object' && 'text' in source && typeof source.text === 'string') {
      return { text: source.text, name: 'the given text' };
    } else if (source !== null && typeof source === 'object' && 'bytes' in source && source.bytes instanceof Uint8Array) {
      name = 'the given bytes';
      bytes = source.bytes;
    } else {
      throw new PluginError(plugin.name, 'UTIL_CONTENT_INVALID', 'contentBuilder() needs { path }, { text } or { bytes }', { hint: "e.g. ctx.utils.contentBuilder({ path: '/etc/app/app.conf' })" });
    }
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), name };
    } catch {
      throw new PluginError(plugin.name, 'UTIL_CONTENT_INVALID', `${name} is not UTF-8 text, so it cannot become a template`, { hint: 'add it as a plain content resource (without template) instead' });
    }
  }

  /** One runner: ctx.run's code on this machine, the host layer's exec over SSH. */
  async #run(plugin: PluginRef, request: UtilRunRequest): Promise<UtilRunResult> {
    this.#open('run()');
    const req = { ...request, timeoutMs: request.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS };
    const host = this.scope.host;
    if (this.scope.where === 'instance' || host === undefined || host.kind === 'local') {
      // Only the fields of a waiting run: ctx.run's `detached` is not part of the utilities.
      const { argv, user, cwd, env, timeoutMs, input } = req;
      return runProgram({ argv, timeoutMs, ...(user !== undefined ? { user } : {}), ...(cwd !== undefined ? { cwd } : {}), ...(env !== undefined ? { env } : {}), ...(input !== undefined ? { input } : {}) }, this.scope.signal);
    }
    const login = host.describe().split('@')[0];
    if (request.user !== undefined && request.user !== login) {
      throw new PluginError(plugin.name, 'UTIL_RUN_USER_REMOTE', `run() as user "${request.user}" on ${host.describe()}: over SSH commands run as the login user ${login}`, {
        hint: `introspect with --host ${request.user}@... to run as ${request.user}, or leave user out`,
      });
    }
    // The signal reaches SshHost (the only remote host): Ctrl-C kills the remote process group.
    const options: HostRunOptions = {
      timeoutMs: req.timeoutMs,
      ...(req.cwd !== undefined ? { cwd: req.cwd } : {}),
      ...(req.env !== undefined ? { env: req.env } : {}),
      ...(req.input !== undefined ? { input: req.input } : {}),
      signal: this.scope.signal,
    };
    const r = await host.run(req.argv, options);
    return { exitCode: r.exitCode, signal: null, stdout: r.stdout, stderr: r.stderr };
  }

  /** The checks both process helpers make: in a lifecycle hook, on a real pid, with a sane limit. */
  #processCall(plugin: PluginRef, what: string, pid: number, timeoutMs: number | undefined): number {
    this.#open(what);
    if (this.scope.where !== 'instance') {
      // The reference host's processes are not this machine's (over SSH), and dehydration may not change it anyway.
      throw new PluginError(plugin.name, 'UTIL_PROCESS_NOT_HERE', `${what} works on the instance, in rehydrate, start, stop and ping; dehydrate must leave the reference host as it is`, {
        hint: 'look at the reference host\'s processes with ctx.host.processes() instead',
      });
    }
    if (!Number.isSafeInteger(pid) || pid <= 1) {
      throw new PluginError(plugin.name, 'UTIL_PROCESS_INVALID', `${what}: ${JSON.stringify(pid)} is not a process id (a whole number above 1)`, { hint: 'pass the pid that ctx.run({ detached }) returned or the product\'s pid file holds' });
    }
    const limit = timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    if (!Number.isFinite(limit) || limit < 0) {
      throw new PluginError(plugin.name, 'UTIL_PROCESS_INVALID', `${what}: timeout ${JSON.stringify(timeoutMs)} is not a number of milliseconds`, { hint: 'e.g. 10000' });
    }
    return limit;
  }

  async #waitForExit(plugin: PluginRef, what: string, pid: number, timeoutMs: number | undefined): Promise<boolean> {
    const limit = this.#processCall(plugin, what, pid, timeoutMs);
    const deadline = Date.now() + limit;
    // No exit event for a process that is not our child: look until it is gone. Cancelling the operation ends the wait.
    const signal = this.scope.signal;
    while (processAlive(pid)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(EXIT_POLL_MS, left), undefined, signal ? { signal } : {});
    }
    return true;
  }

  async #stopProcess(plugin: PluginRef, pid: number, options: StopProcessOptions): Promise<boolean> {
    const limit = this.#processCall(plugin, 'stopProcess()', pid, options.timeoutMs);
    const sig = options.signal ?? 'SIGTERM';
    if (!STOP_SIGNALS.has(sig)) {
      throw new PluginError(plugin.name, 'UTIL_PROCESS_INVALID', `stopProcess(): signal ${JSON.stringify(sig)} is not one it sends`, { hint: `use one of ${[...STOP_SIGNALS].join(', ')}` });
    }
    const name = options.name ?? 'process';
    try {
      process.kill(pid, sig);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') return false;
      if (code === 'EPERM') {
        throw new PluginError(plugin.name, 'UTIL_PROCESS_NOT_PERMITTED', `${name} (pid ${pid}) belongs to another user, so this operation may not stop it`, { hint: 'stop runs as root on an instance; is the pid one of this product\'s?' });
      }
      throw err;
    }
    if (await this.#waitForExit(plugin, 'stopProcess()', pid, limit)) return true;
    throw new PluginError(plugin.name, 'UTIL_STOP_TIMEOUT', `${name} (pid ${pid}) did not stop within ${limit / 1000} s of ${sig}`, { hint: `kill -KILL ${pid} ends it` });
  }

  #root(): Promise<string> {
    this.#open('tempFile()/tempDir()');
    this.#tempRoot ??= (async () => {
      try {
        await mkdir(this.scope.tempParent, { recursive: true });
        return await mkdtemp(join(this.scope.tempParent, 'abctl-utils-'));
      } catch (err) {
        throw environmentError(err, this.scope.tempParent) ?? err;
      }
    })();
    return this.#tempRoot;
  }

  #affix(plugin: PluginRef, what: string, value: string | undefined): string {
    if (value === undefined) return '';
    if (typeof value !== 'string' || !SAFE_AFFIX.test(value) || value.length > 64) {
      throw new PluginError(plugin.name, 'UTIL_TEMP_INVALID', `temporary file ${what} ${JSON.stringify(value)} may use only letters, digits, '.', '_' and '-' (at most 64)`);
    }
    return value;
  }

  async #tempFile(plugin: PluginRef, options: { prefix?: string; suffix?: string; content?: string | Uint8Array }): Promise<string> {
    const path = join(await this.#root(), `${this.#affix(plugin, 'prefix', options.prefix)}${randomBytes(6).toString('hex')}${this.#affix(plugin, 'suffix', options.suffix)}`);
    // 'wx': never an existing file; 0600: scratch files may hold what the plugin read.
    const handle = await open(path, 'wx', 0o600);
    try {
      if (options.content !== undefined) await handle.writeFile(options.content);
    } finally {
      await handle.close();
    }
    return path;
  }

  async #tempDir(plugin: PluginRef, options: { prefix?: string }): Promise<string> {
    return mkdtemp(join(await this.#root(), this.#affix(plugin, 'prefix', options.prefix) || 'dir-'));
  }
}
