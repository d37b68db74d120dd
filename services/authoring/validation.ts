/**
 * `abctl validatePlugin DIR`: everything abctl can tell a plugin author before installing, each
 * problem with file (or hook) and fix, all of them at once. The checks run in order and a later
 * one is skipped when it cannot mean anything (no manifest: nothing to load):
 *   manifest     plugin.config (core/plugin-manifest.ts: every key's rule)
 *   module       the entry module exists and loads as an ES module once installed
 *   messages     messages/<locale>.properties parse, agree with English (ids, {n}), and have the
 *                ids the code asks for (core/messages.ts)
 *   activation   it imports and its activators start (the real activation, in a sandbox)
 *   services     it registered what its kind needs, each with the methods its contract names
 *   parameters   its job parameter definitions, alone and merged with its chain
 *   templates    every *.hbs file of the plugin parses as an abctl template
 *   sample       with a sample directory: the chain's dehydrate runs on it, and every other hook's
 *                result is checked against its documented shape
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import fg from 'fast-glob';
import { AbError, UserError, errorText } from '../../core/errors.js';
import { mergeParameterDefinitions } from '../../core/job-parameters.js';
import type { JobParameterDefinition, ServiceCollector } from '../../core/plugin-contract.js';
import type { PluginManifest, PluginRecord } from '../../core/plugin-model.js';
import { ServiceIds, type FrameworkServiceName } from '../../core/service-ids.js';
import { compileTemplate } from '../../core/templates/index.js';
import { LocalHost } from '../host/local-host.js';
import { captureApplianceView, capturedDefinitions } from '../jobs/file-set-capture.js';
import { platformFacts } from '../jobs/platform-check.js';
import { checkMessagesDirectory } from '../messages/check-messages.js';
import { pluginMessages } from '../messages/plugin-messages.js';
import { callHook } from '../plugin-hooks.js';
import { declaredParameters, dehydrateLocally } from './local-dehydration.js';
import { openSandbox, readPluginDirs, type PluginSandbox } from './sandbox.js';

export const VALIDATION_CHECKS = ['manifest', 'module', 'messages', 'activation', 'services', 'parameters', 'templates', 'sample'] as const;
export type ValidationCheck = (typeof VALIDATION_CHECKS)[number];

export interface ValidationProblem {
  readonly check: ValidationCheck;
  readonly code: string;
  readonly message: string;
  readonly where: string;
  readonly hint?: string;
}

export interface ValidationReport {
  readonly directory: string;
  readonly plugin: string | undefined;
  readonly kind: 'plugin' | 'extension' | undefined;
  readonly ok: boolean;
  /** Each check: passed, failed (see problems) or skipped (with why). */
  readonly checks: readonly { readonly check: ValidationCheck; readonly status: 'passed' | 'failed' | 'skipped'; readonly note?: string }[];
  readonly problems: readonly ValidationProblem[];
  /** With a sample: what the chain made of it. */
  readonly sample?: { readonly directory: string; readonly appliances: readonly string[]; readonly fileSets: readonly string[]; readonly contentResources: readonly string[] };
}

export interface ValidateOptions {
  /** Other plugin directories: an extension's parent (and theirs), or extensions to run with it. */
  readonly with?: readonly string[];
  /** A directory holding the product, to run dehydrate and the other hooks on. */
  readonly sample?: string;
  /** Job parameter values for the sample run; a single required path parameter defaults to the sample. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Looks up a parent plugin's directory elsewhere (the instance's plugins) when it is not beside DIR. */
  readonly findPlugin?: (name: string) => Promise<string | undefined>;
  /** Plugin log lines; default stderr. */
  readonly sink?: (line: string) => void;
}

type Add = (code: string, message: string, where: string, hint?: string) => void;

export async function validatePluginDirectory(directory: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  const dir = resolve(directory);
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new UserError('VALIDATE_SOURCE_MISSING', `${dir} is not a directory`, { hint: 'pass the plugin directory, the one holding plugin.config' });
  }
  const problems: ValidationProblem[] = [];
  const checks: { check: ValidationCheck; status: 'passed' | 'failed' | 'skipped'; note?: string }[] = [];
  let sample: ValidationReport['sample'];
  // Runs one check; it passes when it added no problem.
  const check = async (name: ValidationCheck, body: (add: Add) => Promise<string | void>): Promise<boolean> => {
    const before = problems.length;
    const add: Add = (code, message, where, hint) => problems.push({ check: name, code, message, where, ...(hint ? { hint } : {}) });
    let note: string | void = undefined;
    try {
      note = await body(add);
    } catch (err) {
      add(err instanceof AbError ? err.code : 'PLUGIN_FAILED', err instanceof AbError ? err.message : errorText(err), err instanceof AbError && err.where ? err.where : dir, err instanceof AbError ? err.hint : undefined);
    }
    const passed = problems.length === before;
    checks.push({ check: name, status: passed ? 'passed' : 'failed', ...(note ? { note } : {}) });
    return passed;
  };
  const skip = (from: number, why: string): void => {
    for (const name of VALIDATION_CHECKS.slice(from)) if (!checks.some((c) => c.check === name)) checks.push({ check: name, status: 'skipped', note: why });
  };

  const [reading] = await readPluginDirs([dir]);
  let manifest: PluginManifest | undefined;
  await check('manifest', async (add) => {
    if (reading === undefined) return add('PLUGIN_CONFIG_MISSING', `${basename(dir)} has no plugin.config`, join(dir, 'plugin.config'), 'abctl createPlugin writes one');
    for (const p of reading.problems) add(p.code, p.message, p.where, p.hint);
    manifest = reading.manifest;
  });
  const done = (): ValidationReport => ({
    directory: dir,
    plugin: manifest?.name,
    kind: manifest ? (manifest.parentName === undefined ? 'plugin' : 'extension') : undefined,
    ok: problems.length === 0,
    checks,
    problems,
    ...(sample ? { sample } : {}),
  });
  if (manifest === undefined) {
    skip(1, 'plugin.config is not valid');
    return done();
  }
  const m = manifest;
  await check('module', (add) => checkModule(dir, m, add));
  await check('messages', async (add) => {
    for (const p of await checkMessagesDirectory(dir)) add(p.code, p.message, p.where, p.hint);
  });

  const others = [...(options.with ?? []).map((d) => resolve(d)), ...(await parentDirs(dir, m, options))];
  const sandbox = await openSandbox([dir, ...others], options.sink ? { sink: options.sink } : {});
  try {
    const record = sandbox.inventory.records.get(m.name);
    const started = await check('activation', async (add) => {
      if (record === undefined) return add('PLUGIN_UNKNOWN', `${m.name} was not discovered`, dir);
      for (const p of record.problems) add(p.code, p.message, p.where, p.hint);
      if (record.state === 'disabled') add('PARENT_BROKEN', `${m.name} could not start: ${record.disabledBy ?? 'its parent'} is not usable`, dir, `pass the parent's directory with --with`);
    });
    if (!started || record === undefined) {
      skip(VALIDATION_CHECKS.indexOf('services'), 'the plugin did not start');
      return done();
    }
    await check('services', async (add) => checkServices(sandbox.collector, record, add));
    await check('parameters', (add) => checkParameters(sandbox, record, add));
    await check('templates', (add) => checkTemplateFiles(dir, add));
    if (options.sample === undefined) checks.push({ check: 'sample', status: 'skipped', note: 'no --sample directory given' });
    else {
      const sampleDir = resolve(options.sample);
      await check('sample', async (add) => {
        sample = await checkSample(sandbox, record, sampleDir, options, add);
      });
    }
    return done();
  } finally {
    await sandbox.close();
  }
}

/** Installation copies the plugin directory alone, so the ES-module switch must be inside it. */
async function checkModule(dir: string, m: PluginManifest, add: Add): Promise<void> {
  const entry = join(dir, m.main);
  if (!existsSync(entry)) return add('PLUGIN_LOAD_FAILED', `entry module ${m.main} does not exist`, entry, m.main.startsWith('build/') ? 'compile the plugin first (npx tsc)' : 'create it, or set "main" in plugin.config');
  if (!m.main.endsWith('.js')) return;
  const pkg = join(dir, 'package.json');
  const type = await readFile(pkg, 'utf8').then((t) => (JSON.parse(t) as { type?: unknown }).type, () => undefined);
  if (type !== 'module') {
    add('PLUGIN_LOAD_FAILED', `${m.main} would load as CommonJS: the plugin directory has no package.json with "type": "module"`, pkg, 'add package.json {"type": "module"} to the plugin directory (a package.json above it is not installed with the plugin), or name the entry .mjs');
  }
}

/** An extension's parents, from beside it or from `findPlugin`; the ones `--with` gave are left alone. */
async function parentDirs(dir: string, m: PluginManifest, options: ValidateOptions): Promise<string[]> {
  const given = new Set((options.with ?? []).map((d) => basename(resolve(d))));
  const out: string[] = [];
  for (let parent = m.parentName, guard = 0; parent !== undefined && !given.has(parent) && guard < 16; guard++) {
    const beside = join(dirname(dir), parent);
    const found = existsSync(join(beside, 'plugin.config')) ? beside : await options.findPlugin?.(parent);
    if (found === undefined) break;
    out.push(found);
    parent = (await readPluginDirs([found]))[0]?.manifest?.parentName;
  }
  return out;
}

/** Methods each contract needs, by service id. */
const REQUIRED_METHODS: Readonly<Partial<Record<FrameworkServiceName, readonly string[]>>> = {
  IntrospectorPluginLocator: ['productInstallHomes'],
  PackagerValidationPlugin: ['validateCapture'],
  PlatformOsValidationPlugin: ['validatePlatform'],
};

function checkServices(collector: ServiceCollector, record: PluginRecord, add: Add): void {
  const isExtension = record.parentName !== undefined;
  const id = isExtension ? 'IntrospectorPluginExtension' : 'IntrospectorPlugin';
  const mine = collector.getServicesWithOwner(ServiceIds[id]).filter((s) => s.owner === record.name);
  const where = join(record.directory, record.manifest?.main ?? 'index.js');
  if (mine.length === 0) {
    add('PLUGIN_SERVICE_MISSING', `${record.name} registered no ${id} service`, where, `its activator's start must call context.registerService(context.ids.${id}, { name: '${record.name}'${isExtension ? `, parentName: '${record.parentName}'` : ''}, ... })`);
  }
  for (const { service } of mine) {
    if (!isExtension && typeof service.dehydrate !== 'function') add('PLUGIN_CONTRACT', `the ${id} service of ${record.name} has no dehydrate method`, where, 'a plugin describes its product in dehydrate(ctx); see docs/plugin-authoring.md');
    for (const hook of ['jobParameters', 'dehydrate', 'discover', 'rehydrate', 'start', 'stop', 'ping'] as const) {
      const value: unknown = service[hook];
      if (value !== undefined && typeof value !== 'function') add('PLUGIN_CONTRACT', `${hook} of ${record.name}'s ${id} service is ${typeof value}, not a method`, where);
    }
  }
  for (const [name, methods] of Object.entries(REQUIRED_METHODS) as [FrameworkServiceName, readonly string[]][]) {
    for (const { service, owner } of collector.getServicesWithOwner<Record<string, unknown>>(name)) {
      if (owner !== record.name) continue;
      for (const method of methods) {
        if (typeof service[method] !== 'function') add('PLUGIN_CONTRACT', `the ${name} service of ${record.name} has no ${method} method`, where, `give it ${method}(...) as docs/plugin-contract.md describes`);
      }
    }
  }
}

/** Each definition alone (so every bad one is listed), then the chain's merge (clashes). */
async function checkParameters(sandbox: PluginSandbox, record: PluginRecord, add: Add): Promise<void> {
  const id = record.parentName === undefined ? ServiceIds.IntrospectorPlugin : ServiceIds.IntrospectorPluginExtension;
  const service = sandbox.collector.getServicesWithOwner(id).find((s) => s.owner === record.name)?.service;
  // The chain as a job resolves it, first: a broken extension in it is a finding even for a plugin that declares no parameters.
  let names: string[] | undefined;
  try {
    names = sandbox.chainOf(record.name);
  } catch (err) {
    if (!(err instanceof AbError)) throw err;
    add(err.code, err.message, err.where ?? record.directory, err.hint);
  }
  if (service?.jobParameters === undefined) return;
  const where = `${record.name}: jobParameters()`;
  // callHook rejects a list of the wrong shape, as the plugin's error naming the item.
  let list: readonly JobParameterDefinition[];
  try {
    list = await callHook({ plugin: record.name, hook: 'jobParameters' }, () => service.jobParameters!());
  } catch (err) {
    if (!(err instanceof AbError)) throw err;
    return add(err.code, err.message, err.where ?? where, err.hint);
  }
  let bad = false;
  for (const p of list) {
    try {
      mergeParameterDefinitions([{ plugin: record.name, parameters: [p] }]);
    } catch (err) {
      bad = true;
      add(err instanceof AbError ? err.code : 'JOB_PARAMETER_INVALID', err instanceof AbError ? err.message : errorText(err), err instanceof AbError && err.where ? err.where : where, err instanceof AbError ? err.hint : undefined);
    }
  }
  // A bad definition was reported above, and a broken chain cannot be merged: the merge would only repeat or guess.
  if (bad || names === undefined) return;
  const sources = names.map((n) => {
    const s = sandbox.collector.getServicesWithOwner(n === names[0] ? ServiceIds.IntrospectorPlugin : ServiceIds.IntrospectorPluginExtension).find((x) => x.owner === n)?.service;
    const declared = n === record.name ? list : s?.jobParameters?.();
    return { plugin: n, parameters: Array.isArray(declared) ? (declared as JobParameterDefinition[]) : [] };
  });
  mergeParameterDefinitions(sources);
}

async function checkTemplateFiles(dir: string, add: Add): Promise<string> {
  const files = await fg('**/*.hbs', { cwd: dir, ignore: ['**/node_modules/**'], dot: false });
  for (const rel of files.sort()) {
    try {
      compileTemplate({ name: rel, text: await readFile(join(dir, rel), 'utf8') });
    } catch (err) {
      add(err instanceof AbError ? err.code : 'TEMPLATE_SYNTAX', errorText(err), join(dir, rel), err instanceof AbError ? err.hint : undefined);
    }
  }
  return files.length === 0 ? 'no .hbs files' : `${files.length} template(s)`;
}

/** Runs the chain on the sample, then every other hook it implements, checking each result's shape. */
async function checkSample(sandbox: PluginSandbox, record: PluginRecord, sampleDir: string, options: ValidateOptions, report: Add): Promise<ValidationReport['sample']> {
  let found = 0;
  const add: Add = (...args) => {
    found++;
    report(...args);
  };
  const chain = sandbox.chainOf(record.name);
  const host = new LocalHost();
  // Shapes first: a malformed platform answer would otherwise stop the dehydration below without saying why.
  const facts = await platformFacts(host);
  // callHook checks each result against its documented shape; a mismatch is one problem of this check.
  const shaped = async (plugin: string, hook: string, fn: () => unknown): Promise<unknown> =>
    callHook({ plugin, hook }, fn).catch((err: unknown) => {
      if (!(err instanceof AbError)) throw err;
      add(err.code, err.message, err.where ?? `${plugin}: ${hook}()`, err.hint);
      return undefined;
    });

  const owned = <T>(id: FrameworkServiceName): { owner: string; service: T }[] =>
    sandbox.collector.getServicesWithOwner<T>(id).filter((s) => chain.includes(s.owner));
  for (const { owner, service } of owned<{ validatePlatform(f: unknown): unknown }>('PlatformOsValidationPlugin')) await shaped(owner, 'validatePlatform', () => service.validatePlatform(facts));
  if (found > 0) return undefined;

  const parameters: Record<string, string> = { ...options.parameters };
  const { declared } = declaredParameters(sandbox, record.name);
  const paths = declared.filter((p) => p.type === 'path' && p.required && parameters[p.name] === undefined);
  if (paths.length === 1) parameters[paths[0]!.name] = sampleDir;
  const run = await dehydrateLocally(sandbox, { plugin: record.name, parameters, tmpDir: tmpdir(), ...(options.sink ? { sink: options.sink } : {}) });
  const appliances = run.result.appliances;
  for (const a of appliances) {
    for (const [name, bytes] of run.result.content.get(a.name) ?? []) {
      const text = Buffer.from(bytes).toString('utf8');
      if (!text.includes('{{')) continue;
      try {
        compileTemplate({ name, text });
      } catch (err) {
        add(err instanceof AbError ? err.code : 'TEMPLATE_SYNTAX', `content resource "${name}" of appliance "${a.name}" is not a valid template: ${errorText(err)}`, `${record.name}: dehydrate()`);
      }
    }
  }
  for (const { owner, service } of owned<{ productInstallHomes(p: unknown): unknown }>('IntrospectorPluginLocator')) await shaped(owner, 'productInstallHomes', () => service.productInstallHomes(run.parameters));
  for (const { owner, service } of owned<{ validateCapture(r: unknown): unknown }>('PackagerValidationPlugin')) {
    // As the capture calls it: once per captured file set, with the appliance it belongs to.
    for (const a of appliances) {
      const appliance = captureApplianceView(a);
      for (const f of capturedDefinitions(a)) await shaped(owner, 'validateCapture', () => service.validateCapture({ applianceName: a.name, fileSetRoots: [f.root], host, appliance, fileSet: f.name }));
    }
  }
  const root = sandbox.collector.getServicesWithOwner(ServiceIds.IntrospectorPlugin).find((s) => s.owner === chain[0])?.service;
  if (root?.discover && record.name === chain[0]) {
    const discover = root.discover.bind(root);
    await shaped(chain[0]!, 'discover', () => discover({ host, log: { info() {}, warn() {}, debug() {} }, messages: pluginMessages(chain[0]!), progress: () => undefined }));
  }
  return {
    directory: sampleDir,
    appliances: appliances.map((a) => a.name),
    fileSets: appliances.flatMap((a) => a.fileSets.map((f) => `${a.name}/${f.name} ${f.root}`)),
    contentResources: appliances.flatMap((a) => a.contentResources.map((c) => `${a.name}/${c.name}`)),
  };
}
