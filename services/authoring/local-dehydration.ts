/**
 * One introspection of this machine by a plugin chain in a sandbox, without a catalog: the
 * job's own steps (parameters, each dehydrate after its parent, the result check, platform and
 * capture checks, file set capture) with the archives kept in a directory the caller owns.
 * validatePlugin runs it on a sample; the test kit hands the result to a plugin's own test.
 */
import { rename } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { PluginError } from '../../core/errors.js';
import { mergeParameterDefinitions, resolveParameterValues, type DeclaredParameter, type RawValue } from '../../core/job-parameters.js';
import type { JobParameterValues } from '../../core/plugin-contract.js';
import { DefaultReferenceHostFactory } from '../host/connect.js';
import { callHookSync } from '../plugin-hooks.js';
import { DehydrationRun, chainParticipants, checkResult, type DehydrationResult } from '../jobs/dehydration-run.js';
import { FileRefCheck } from '../jobs/fileref-check.js';
import { captureFileSets } from '../jobs/file-set-capture.js';
import { runJob, silentProgress, type JobProgress } from '../jobs/job.js';
import { checkPlatform } from '../jobs/platform-check.js';
import { pluginChain } from '../jobs/plugin-chain.js';
import type { PluginSandbox } from './sandbox.js';

export interface LocalArchive {
  readonly appliance: string;
  readonly fileSet: string;
  /** The archive file, in the caller's directory. */
  readonly file: string;
  readonly codec: 'gzip' | 'zstd' | 'none';
  readonly size: number;
  readonly sha256: string;
  /** What the capture left out, and why (e.g. `template-with-password`). */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

export interface LocalDehydration {
  readonly chain: readonly string[];
  readonly declared: readonly DeclaredParameter[];
  readonly parameters: JobParameterValues;
  readonly result: DehydrationResult;
  readonly archives: readonly LocalArchive[];
  readonly warnings: readonly string[];
}

export interface LocalDehydrationRequest {
  /** The plugin (or alias extension) whose chain runs. */
  readonly plugin: string;
  /** Values by parameter name; strings are converted as the command line's are. */
  readonly parameters?: Readonly<Record<string, string | number | boolean>>;
  readonly name?: string;
  /** Capture the file sets into `archiveDir` (default: no capture, checks only). */
  readonly archiveDir?: string;
  readonly tmpDir: string;
  /** The plugins' cache (ctx.utils.cache); default `<tmpDir>/cache`. */
  readonly cacheDir?: string;
  /** Plugin log lines; default stderr. */
  readonly sink?: (line: string) => void;
}

/** The chain's job parameters, declarations checked (the first bad one throws, naming it). */
export function declaredParameters(sandbox: PluginSandbox, plugin: string): { chain: string[]; declared: DeclaredParameter[] } {
  const chain = pluginChain(sandbox.inventory, sandbox.collector, sandbox.inventory.records.get(plugin)?.rootName ?? plugin);
  const declared = mergeParameterDefinitions(
    chain.members.map((m) => ({ plugin: m.name, parameters: callHookSync({ plugin: m.name, hook: 'jobParameters' }, () => m.service.jobParameters?.() ?? []) })),
  );
  return { chain: chain.members.map((m) => m.name), declared };
}

export async function dehydrateLocally(sandbox: PluginSandbox, req: LocalDehydrationRequest): Promise<LocalDehydration> {
  const root = sandbox.inventory.records.get(req.plugin)?.rootName ?? req.plugin;
  const chain = pluginChain(sandbox.inventory, sandbox.collector, root);
  const { declared } = declaredParameters(sandbox, root);
  const raw = new Map<string, RawValue>();
  for (const [name, value] of Object.entries(req.parameters ?? {})) raw.set(name, { value: String(value), origin: 'env' });
  const values: Record<string, string | number | boolean | undefined> = { ...resolveParameterValues(declared, raw) };
  for (const p of declared) {
    const v = values[p.name];
    if (p.type === 'path' && typeof v === 'string' && !isAbsolute(v)) values[p.name] = resolve(v);
  }
  const parameters = Object.freeze(values);
  const sink = req.sink ?? ((line: string) => process.stderr.write(`${line}\n`));
  const progress: JobProgress = { ...silentProgress, log: sink, warn: (m) => sink(`warning: ${m}`) };
  const spec = { name: 'introspection', interruptedOutcome: 'nothing was kept', tmpDir: req.tmpDir, cacheDir: req.cacheDir ?? join(req.tmpDir, 'cache'), hosts: new DefaultReferenceHostFactory(), options: { progress } };
  return runJob(spec, async (job) => {
    const run = new DehydrationRun({
      rootPlugin: root,
      participants: chainParticipants(sandbox.inventory, chain.members),
      allowExtensionsToCreateAppliances: chain.members[0]?.service.allowExtensionsToCreateAppliances === true,
      parameters,
      host: job.host,
      tmpDir: job.scratchDir,
      requestedName: req.name,
    });
    const fileRefs = new FileRefCheck();
    for (const member of chain.members) {
      const hook = member.service.dehydrate?.bind(member.service);
      if (!hook) {
        if (member.isRoot) throw new PluginError(member.name, 'PLUGIN_CONTRACT', `${member.name} has no dehydrate method`);
        continue;
      }
      const utils = job.utils(member.name, sandbox.inventory.records.get(member.name)?.directory ?? '');
      const ctx = run.contextFor(member.name, job.logger(member.name), () => undefined, utils);
      await job.callWith(member.name, 'dehydrate', utils, () => hook(ctx));
      fileRefs.note(run.result().appliances, member.name);
    }
    const result = run.result();
    checkResult(result, root);
    // As the introspection does: a dangling contentresource: fileRef shows up in the author's own test.
    fileRefs.check(result.appliances);
    const names = chain.members.map((m) => m.name);
    const warnings = await checkPlatform(job, sandbox.collector, names);
    const archives: LocalArchive[] = [];
    if (req.archiveDir !== undefined) {
      const staged = await captureFileSets(job, sandbox.collector, {
        appliances: result.appliances,
        ownerOf: (a) => a,
        chain: names,
        codec: 'gzip',
        contentOf: async (appliance, resource) => result.content.get(appliance)?.get(resource),
        refusalHint: () => 'fix what it reports (e.g. stop the product) and run again',
      });
      for (const s of staged) {
        // Out of the scratch dir, which the job removes.
        const file = join(req.archiveDir, `${s.appliance}-${s.fileSet}.tar.gz`);
        await rename(s.file, file);
        archives.push({ appliance: s.appliance, fileSet: s.fileSet, file, codec: s.codec, size: s.archiveBytes, sha256: s.sha256, skipped: s.skipped });
      }
    }
    return { chain: names, declared, parameters, result, archives, warnings };
  });
}
