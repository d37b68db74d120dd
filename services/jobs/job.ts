/**
 * What every job shares. A job (introspect, capture, discover; later rehydrate, start, stop,
 * ping, deploy) runs a plugin chain over one host, with the caller's signal and progress, a
 * logger per plugin, a private scratch dir, and at most one catalog commit at its end. `runJob`
 * owns the parts that must be released whatever happens (host connection, scratch dir) and
 * turns any failure after Ctrl-C into one clear interruption.
 */
import { rm } from 'node:fs/promises';
import type { PluginLogger } from '../../core/plugin-contract.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import type { CaptureProgress } from '../archive/capture.js';
import type { ReferenceHostFactory, ReferenceHostOptions } from '../host/connect.js';
import { join } from 'node:path';
import type { UtilFactory } from '../../core/util-contract.js';
import { JobInterrupted, callHook } from '../plugin-hooks.js';
import { pluginLogger } from '../registry/plugin-context.js';
import { OperationUtils, withUtils } from '../utils/module.js';
import { createScratchDir } from './scratch-dir.js';

/** What a job reports while it runs; the CLI draws it on a terminal. */
export interface JobProgress {
  plugin(name: string, percent: number, message?: string): void;
  capture(label: string, progress: CaptureProgress): void;
  warn(message: string): void;
  /** A plugin's log line; a CLI clears its progress line first. Default: stderr. */
  log?(line: string): void;
}

/** For callers that show nothing (tests, scripts). */
export const silentProgress: JobProgress = { plugin() {}, capture() {}, warn() {} };

/** What every job takes from its caller. */
export interface JobOptions {
  /** `user@host[:port]`; undefined: this machine. */
  readonly host?: string;
  readonly hostOptions?: ReferenceHostOptions;
  readonly progress?: JobProgress;
  /** Ctrl-C: the job stops at the next step, and at once while it waits for plugin code. */
  readonly signal?: AbortSignal;
}

export interface Job {
  readonly host: ReferenceHost;
  /** On the abctl machine; removed when the job ends. */
  readonly scratchDir: string;
  readonly progress: JobProgress;
  readonly signal: AbortSignal | undefined;
  /** The logger handed to `plugin`'s code: its lines go through this job's progress. */
  logger(plugin: string): PluginLogger;
  /** Calls a plugin hook under the one policy of plugin-hooks.ts, with this job's signal. */
  call<T>(plugin: string, hook: string, fn: () => T | PromiseLike<T>): Promise<T>;
  /** `ctx.utils` of plugin `name` (directory: its plugin directory); released when the job ends. */
  utils(name: string, directory: string): UtilFactory;
  /** `call`, with `utils` as what the registry's UtilFactory stands for while the hook runs. */
  callWith<T>(plugin: string, hook: string, utils: UtilFactory, fn: () => T | PromiseLike<T>): Promise<T>;
  /** Between steps: stop here when the user interrupted. */
  checkpoint(): void;
}

export interface JobSpec {
  /** Short word for messages and the scratch dir's name: `introspection`, `capture`, `discovery`. */
  readonly name: string;
  /** What an interruption leaves behind, told to the user (e.g. "nothing was stored"). */
  readonly interruptedOutcome: string;
  readonly tmpDir: string;
  readonly hosts: ReferenceHostFactory;
  readonly options: JobOptions;
  /** Where the plugins' cache lives (abctl's state directory); default: inside the scratch dir, so gone after the job. */
  readonly cacheDir?: string;
}

export async function runJob<T>(spec: JobSpec, body: (job: Job) => Promise<T>): Promise<T> {
  const { signal } = spec.options;
  const progress = spec.options.progress ?? silentProgress;
  const interrupted = (cause: unknown): JobInterrupted => new JobInterrupted(spec.name, cause, spec.interruptedOutcome);
  if (signal?.aborted) throw interrupted(signal.reason);
  const scratchDir = await createScratchDir(spec.tmpDir, spec.name);
  let host: ReferenceHost | undefined;
  let utils: OperationUtils | undefined;
  try {
    host = await spec.hosts.open(spec.options.host, spec.options.hostOptions ?? {});
    const ops = new OperationUtils({ where: 'reference', host, hostName: host.describe(), tempParent: scratchDir, cacheDir: spec.cacheDir ?? join(scratchDir, 'cache'), signal });
    utils = ops;
    const sink = (line: string): void => {
      if (progress.log) progress.log(line);
      else process.stderr.write(`${line}\n`);
    };
    const job: Job = {
      host,
      scratchDir,
      progress,
      signal,
      logger: (plugin) => pluginLogger(plugin, sink, process.env.AB_DEBUG === '1'),
      call: (plugin, hook, fn) => callHook({ plugin, hook, signal }, fn),
      utils: (name, directory) => ops.forPlugin({ name, directory }),
      callWith: (plugin, hook, pluginUtils, fn) => callHook({ plugin, hook, signal }, () => withUtils(pluginUtils, fn)),
      checkpoint: () => {
        if (signal?.aborted) throw interrupted(signal.reason);
      },
    };
    return await body(job);
  } catch (err) {
    // Whatever broke after Ctrl-C (a hook cut off, a capture aborted) is the interruption.
    if (signal?.aborted) throw interrupted(signal.reason);
    throw err;
  } finally {
    await utils?.close();
    await host?.close().catch(() => undefined);
    await rm(scratchDir, { recursive: true, force: true });
  }
}
