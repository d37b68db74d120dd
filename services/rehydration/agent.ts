/**
 * The agent: runs rehydrate, start, stop or ping on an instance from a bundle directory, with
 * no catalog. It loads the plugins shipped in the bundle (and only those), checks that their
 * chain is the one the bundle was written for, and for rehydrate first does the framework's
 * part (verify archives, extract file sets). `abctl-agent.mjs` (agent-main.ts) and the CLI call it.
 */
import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Container } from 'inversify';
import { UserError } from '../../core/errors.js';
import type { LateBindings, LifecycleOperation } from '../../core/lifecycle-contract.js';
import { Appliance, Assembly } from '../../core/metadata/index.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import { resolveChain, withActivationOutcome } from '../../core/plugin-tree.js';
import { brokenChainError } from '../jobs/plugin-chain.js';
import { parseDocument } from '../../catalog/xml-codec.js';
import { discoverPlugins } from '../plugins/discovery.js';
import { PluginActivationService, ServiceRegistry, registryModule } from '../registry/module.js';
import { utilsModule } from '../utils/module.js';
import {
  BUNDLE_APPLIANCE,
  BUNDLE_ASSEMBLY,
  BUNDLE_BINDINGS,
  BUNDLE_MANIFEST,
  BUNDLE_PLUGINS_DIR,
  MIN_NODE_MAJOR,
  parseManifest,
} from './bundle-format.js';
import { bundleKeyMissing, type BundleKey } from './bundle-key.js';
import { openPeerSecrets } from './peer-secrets.js';
import { chainMembers, runChain, type ChainOutcome } from './chain.js';
import { LifecycleContexts, type InstanceState } from './context.js';
import { extractFileSets, verifyArchives, type ExtractedFileSet } from './file-sets.js';

export interface AgentRequest {
  readonly bundleDir: string;
  readonly operation: LifecycleOperation;
  readonly signal?: AbortSignal;
  /** Log lines of the agent and the plugins; default stderr. */
  readonly sink?: (line: string) => void;
  readonly debug?: boolean;
  /** Time limit of each plugin call (callHook's default otherwise). */
  readonly hookTimeoutMs?: number;
  /** rehydrate: where to record the volumes it mounts, so that removing the instance unmounts them (file-sets.ts). */
  readonly mountsDir?: string;
  /** The bundle's key (given on stdin): without it, a plugin asking for a password the bundle keeps encrypted fails the operation. */
  readonly passwordKey?: BundleKey;
}

export interface AgentResult extends ChainOutcome {
  readonly appliance: string;
  /** rehydrate only: the file sets the framework extracted. */
  readonly fileSets?: readonly ExtractedFileSet[];
}

/** The agent runs where only Node.js was installed: say plainly when it is too old. */
export function checkNodeVersion(version: string = process.versions.node): void {
  const major = Number(version.split('.')[0]);
  if (!(major >= MIN_NODE_MAJOR)) {
    throw new UserError('NODE_TOO_OLD', `the abctl agent needs Node.js ${MIN_NODE_MAJOR} or later; this machine has ${version}`, {
      hint: `install Node.js ${MIN_NODE_MAJOR} or later (Debian 13: apt-get install nodejs; older releases: the NodeSource packages)`,
    });
  }
}

/**
 * Reads what the bundle says about this instance. Every file is named in its error. Password
 * values are decrypted in memory with `key`; without it they stay sealed (passwordsLocked), so
 * that operations which read none still run.
 */
export async function loadBundle(bundleDir: string, key?: BundleKey): Promise<InstanceState> {
  const dir = resolve(bundleDir);
  const read = async (name: string): Promise<string> => {
    try {
      return await readFile(join(dir, name), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UserError('BUNDLE_INCOMPLETE', `${name} cannot be read (${code ?? String(err)})`, {
        where: join(dir, name),
        hint: code === 'ENOENT' ? `is ${dir} an appliance bundle? it holds bundle.json, appliance.xml, bindings.json, ... (written by abctl deploy)` : 'run the agent as root (the bundle is readable by its owner only)',
      });
    }
  };
  const manifest = parseManifest(await read(BUNDLE_MANIFEST), join(dir, BUNDLE_MANIFEST));
  const sealed = manifest.passwordKey;
  if (sealed && key && key.id !== sealed.keyId) {
    throw new UserError('BUNDLE_KEY_WRONG', 'the key given on stdin is not this bundle\'s (its id differs from the one in bundle.json)', {
      where: join(dir, BUNDLE_MANIFEST),
      hint: 'each instance has its own key, which abctl passes itself: run the operation through abctl (startDeployment, stopDeployment, pingDeployment), or deploy the instance again',
    });
  }
  const applianceFile = join(dir, BUNDLE_APPLIANCE);
  const open = sealed && key ? { secret: (stored: string) => key.decrypt(stored, applianceFile) } : {};
  const appliance = Appliance.fromPlain(parseDocument(await read(BUNDLE_APPLIANCE), { where: applianceFile, ...open }).plain);
  const assembly = Assembly.fromPlain(parseDocument(await read(BUNDLE_ASSEMBLY), { where: join(dir, BUNDLE_ASSEMBLY) }).plain);
  let bindings: LateBindings;
  try {
    bindings = JSON.parse(await read(BUNDLE_BINDINGS)) as LateBindings;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError('BUNDLE_INVALID', `bindings.json is not valid JSON: ${(err as Error).message}`, { where: join(dir, BUNDLE_BINDINGS) });
  }
  // Peers' password values are opened here, in memory only; without a key they stay sealed (context.ts locks them).
  if (sealed && key) bindings = openPeerSecrets(bindings, key, join(dir, BUNDLE_BINDINGS));
  return { bundleDir: dir, manifest, appliance, assembly, bindings, passwordsLocked: sealed !== undefined && key === undefined };
}

const REDACT = Symbol('abctl.redact');

/** For an error runAgent threw: a function that masks the instance's password values in text about it (identity when there is none to mask). */
export function redactorOf(err: unknown): (text: string) => string {
  const f = typeof err === 'object' && err !== null ? (err as { [REDACT]?: (text: string) => string })[REDACT] : undefined;
  return f ?? ((text) => text);
}

export async function runAgent(req: AgentRequest): Promise<AgentResult> {
  checkNodeVersion();
  const state = await loadBundle(req.bundleDir, req.passwordKey);
  const signal = req.signal ?? new AbortController().signal;
  const sink = req.sink ?? ((line: string) => process.stderr.write(`${line}\n`));
  const subject = `appliance "${state.manifest.appliance}" (instance ${state.manifest.instanceIndex})`;

  // One container per run, with only the registry: the agent needs no catalog, host or jobs.
  const container = new Container();
  container.load(registryModule, utilsModule);
  const activation = container.get(PluginActivationService);
  let contexts: LifecycleContexts | undefined;
  try {
    // The plugins are started and their chain checked before rehydrate touches the host:
    // a chain that cannot run leaves the file sets as they were.
    const discovered = await discoverPlugins([{ path: join(state.bundleDir, BUNDLE_PLUGINS_DIR), source: 'installed' }], { disabled: new Set(), sdkVersion: SDK_VERSION });
    const outcome = await activation.activate(discovered, { logSink: sink, ...(req.debug !== undefined ? { debug: req.debug } : {}) });
    // Plugins that failed to start are broken from here on: the chain check below names them.
    const inventory = withActivationOutcome(discovered, outcome);
    const creator = state.manifest.chain[0] as string;
    const resolved = resolveChain(inventory, creator);
    // A broken creator is chainMembers' refusal; a broken extension is this one.
    const broken = inventory.records.get(creator)?.state === 'enabled' && resolved.broken.length > 0;
    // stop still stops what it can (a product left running is worse than one stopped without
    // an extension's part) and then fails; every other operation refuses before it starts.
    const brokenStop = broken && req.operation === 'stop';
    if (broken && !brokenStop) throw brokenChainError(resolved, `${req.operation} of ${subject}`, { inBundle: true });
    if (!broken && resolved.participants.join(',') !== state.manifest.chain.join(',')) {
      const brokenOnes = [...inventory.records.values()].filter((r) => r.state === 'broken').map((r) => `${r.name}: ${r.problems[0]?.message ?? 'broken'}`);
      throw new UserError('BUNDLE_CHAIN_MISMATCH', `the bundle was written for the chain ${state.manifest.chain.join(' -> ')}, but its plugins give ${resolved.participants.join(' -> ') || 'nothing'}`, {
        where: join(state.bundleDir, BUNDLE_PLUGINS_DIR),
        hint: brokenOnes.length ? brokenOnes.join('; ') : 'write the bundle again with abctl',
      });
    }
    const members = chainMembers(inventory, container.get(ServiceRegistry).createCollector(), creator, brokenStop);

    let fileSets: ExtractedFileSet[] | undefined;
    if (req.operation === 'rehydrate') {
      await verifyArchives(state.bundleDir, state.manifest.fileSets);
      fileSets = await extractFileSets(state.bundleDir, state.manifest.fileSets, { signal, log: sink, ...(req.mountsDir !== undefined ? { mountsDir: req.mountsDir } : {}) });
      const inImage = new Set(state.manifest.fileSets.filter((f) => f.inImage).map((f) => f.name));
      for (const f of fileSets) sink(`file set ${f.name}: ${f.extracted ? `extracted into ${f.root}` : inImage.has(f.name) ? `already in the image at ${f.root}` : 'not captured, nothing to extract'}`);
    }

    contexts = new LifecycleContexts(state, { operation: req.operation, signal, sink, ...(req.debug !== undefined ? { debug: req.debug } : {}) });
    const asked = contexts;
    const result = await runChain({
      operation: req.operation,
      members,
      context: (name) => asked.for(name),
      subject,
      signal,
      ...(req.hookTimeoutMs !== undefined ? { timeoutMs: req.hookTimeoutMs } : {}),
    }).catch((err: unknown) => {
      // Not the plugin's fault: it asked for a password this process was not given the key to.
      const locked = asked.lockedPassword;
      const thrown = locked ? bundleKeyMissing(state.bundleDir, `${req.operation} of appliance "${state.manifest.appliance}" (plugin ${locked.plugin})`, locked.name) : err;
      // A plugin's error message may quote a password it was given: whoever prints it scrubs it the way log lines are.
      if (typeof thrown === 'object' && thrown !== null && Object.isExtensible(thrown)) Object.defineProperty(thrown, REDACT, { value: (text: string) => asked.redact(text) });
      throw thrown;
    });
    if (brokenStop) throw brokenChainError(resolved, `stop of ${subject}`, { ranWithout: result.ran, inBundle: true });
    return { ...result, appliance: state.manifest.appliance, ...(fileSets ? { fileSets } : {}) };
  } finally {
    await contexts?.close();
    for (const f of await activation.stopAll()) sink(`warning: ${f.message}`);
  }
}
