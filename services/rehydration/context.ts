/**
 * Builds the LifecycleContext each participant of a rehydrate/start/stop/ping receives, from
 * what the agent loaded out of a bundle (InstanceState). Password values leave it only through
 * `password(name)`; every value handed out that way is also scrubbed from the plugin's log lines.
 */
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UserError } from '../../core/errors.js';
import type {
  AssemblyNavigator,
  FileRefResolution,
  InputView,
  LateBindings,
  LifecycleContext,
  LifecycleOperation,
  Ownership,
  PeerBinding,
  PropertyView,
  RenderOptions,
  TargetApplianceView,
} from '../../core/lifecycle-contract.js';
import { Appliance, Assembly, AtomicAssembly, ExternalResource, effectivePort, formatEndpointRef, resolveFileRef, type Input, type Property, type PropertySet } from '../../core/metadata/index.js';
import type { PluginLogger } from '../../core/plugin-contract.js';
import { EffectiveProperties } from '../../core/rehydration/index.js';
import { lateBindingValues, listTemplateVariables, xmlEscape } from '../../core/templates/index.js';
import { REDACTED } from '../../core/metadata/index.js';
import type { BundleManifest } from './bundle-format.js';
import { bundleKeyMissing } from './bundle-key.js';
import { lockPeerSecrets, peerKey, peerSecretValues } from './peer-secrets.js';
import { copyWithOwnership, runProgram, setOwnership } from './host-ops.js';
import { pluginMessages } from '../messages/plugin-messages.js';
import { renderTemplate } from './render.js';
import { OperationUtils } from '../utils/operation-utils.js';

/** What the agent read from a bundle; one per operation, shared by every participant. */
export interface InstanceState {
  readonly bundleDir: string;
  readonly manifest: BundleManifest;
  /** The appliance with the plan applied. */
  readonly appliance: Appliance;
  readonly assembly: Assembly;
  readonly bindings: LateBindings;
  /** Password values are encrypted and no key was given: asking for one fails the operation. */
  readonly passwordsLocked?: boolean;
}

export interface ContextOptions {
  readonly operation: LifecycleOperation;
  readonly signal: AbortSignal;
  /** Where log lines go (one line per call); default stderr. */
  readonly sink?: (line: string) => void;
  readonly debug?: boolean;
  /** The plugins' cache (ctx.utils.cache); default `<bundle>/cache`, kept with the bundle between operations. */
  readonly cacheDir?: string;
}

/** Context factory for one operation: effective properties are computed once, secrets tracked once. */
export class LifecycleContexts {
  readonly effective: EffectiveProperties;
  /** Clear values handed out by password(): they never reach a log line. */
  readonly #revealed = new Set<string>();
  readonly #state: InstanceState;
  readonly #opts: ContextOptions;
  readonly #utils: OperationUtils;
  /** The first password asked for that could not be given (no key), and by whom. */
  lockedPassword: { readonly name: string; readonly plugin: string } | undefined;
  /** Peers' password values (opened by loadBundle, or filled from a container's Secret): redacted like the appliance's. */
  readonly #peerSecrets: readonly string[];

  constructor(state: InstanceState, opts: ContextOptions) {
    this.#state = state;
    this.#opts = opts;
    this.#peerSecrets = state.passwordsLocked ? [] : peerSecretValues(state.bindings);
    this.effective = EffectiveProperties.compute({ introspected: state.appliance.properties.list() }, state.appliance.where);
    // The instance's tmp dir is the machine's: the bundle may sit on a volume the plugin should not fill.
    this.#utils = new OperationUtils({
      where: 'instance',
      hostName: state.bindings.instance.hostName,
      tempParent: tmpdir(),
      cacheDir: opts.cacheDir ?? join(state.bundleDir, 'cache'),
      signal: opts.signal,
    });
  }

  /** Releases what the plugins' utilities left (temporary files, SSH connections); call once the operation ended. */
  close(): Promise<void> {
    return this.#utils.close();
  }

  /** Every password value of the appliance (non-empty), for the "file holds a password" rule. */
  #passwordValues(): string[] {
    const out: string[] = [];
    for (const { property } of this.effective) if (property.secret && property.value) out.push(property.value);
    return out;
  }

  #pluginDir(name: string): string {
    const entry = this.#state.manifest.plugins.find((p) => p.name === name);
    return join(this.#state.bundleDir, entry?.directory ?? join('plugins', name));
  }

  redact(text: string): string {
    let out = text;
    for (const secret of [...this.#revealed, ...this.#passwordValues(), ...this.#peerSecrets]) if (secret.length > 0) out = out.split(secret).join(REDACTED);
    return out;
  }

  for(pluginName: string): LifecycleContext {
    const state = this.#state;
    const opts = this.#opts;
    const where = `${state.appliance.where} (plugin ${pluginName}, ${opts.operation})`;
    const sink = opts.sink ?? ((line: string) => process.stderr.write(`${line}\n`));
    const log: PluginLogger = {
      info: (m) => sink(`[${pluginName}] ${this.redact(m)}`),
      warn: (m) => sink(`[${pluginName}] warning: ${this.redact(m)}`),
      debug: (m) => {
        if (opts.debug) sink(`[${pluginName}] debug: ${this.redact(m)}`);
      },
    };
    const contentFile = (name: string): string => {
      const rel = state.manifest.contentResources[name];
      if (rel === undefined) {
        throw new UserError('CONTENT_RESOURCE_UNKNOWN', `appliance "${state.appliance.name}" has no content resource "${name}"`, {
          where,
          hint: `its content resources: ${Object.keys(state.manifest.contentResources).join(', ') || 'none'}`,
        });
      }
      return join(state.bundleDir, rel);
    };
    const password = (name: string): string | undefined => {
      const v = this.effective.revealPassword(name);
      if (v !== undefined && state.passwordsLocked) {
        this.lockedPassword ??= { name, plugin: pluginName };
        throw bundleKeyMissing(state.bundleDir, `${opts.operation} of appliance "${state.manifest.appliance}"`, name);
      }
      if (v) this.#revealed.add(v);
      return v;
    };
    // Without the bundle's key a peer's password value stays sealed: reading it fails as ctx.password does.
    const lockedPeer = (peer: PeerBinding, name: string): never => {
      const what = `${name} (of peer ${peerKey(peer)})`;
      this.lockedPassword ??= { name: what, plugin: pluginName };
      throw bundleKeyMissing(state.bundleDir, `${opts.operation} of appliance "${state.manifest.appliance}"`, what);
    };
    const resolve = (nameOrUri: string): FileRefResolution => {
      const prop = this.effective.get(nameOrUri)?.property;
      const uri = prop ? prop.value : nameOrUri;
      if (prop && prop.type !== 'fileRef') throw new UserError('PROPERTY_NOT_FILEREF', `property "${nameOrUri}" is a ${prop.type}, not a fileRef`, { where });
      if (uri === undefined) return { kind: 'unset' };
      const target = resolveFileRef(uri);
      if (target.kind !== 'contentResource') return { kind: 'skipped', uri, reason: `scheme "${target.scheme}" is not resolved (only contentresource: is)` };
      return { kind: 'contentResource', name: target.name, path: contentFile(target.name) };
    };
    return {
      pluginName,
      operation: opts.operation,
      appliance: applianceView(state.appliance, this.effective, state.passwordsLocked ? lockPeerSecrets(state.bindings, lockedPeer) : state.bindings),
      instance: state.bindings.instance,
      navigator: navigatorOf(state.assembly),
      log,
      messages: pluginMessages(pluginName),
      signal: opts.signal,
      password,
      contentResource: async (name) => new Uint8Array(await readFile(contentFile(name))),
      resolveFileRef: resolve,
      renderContentResource: async (name: string, dest: string, o: RenderOptions = {}) => {
        const text = await readFile(contentFile(name), 'utf8');
        // The plugin's variables (e.g. a password it asked for) go over the effective properties and late bindings.
        const values = { ...Object.fromEntries(this.effective.values()), ...Object.fromEntries(lateBindingValues(state.bindings)), ...o.variables };
        const rendered = renderTemplate({ name, text }, values);
        // A password may reach the file through a helper that changes its text ({{xml pw}}): a file is
        // private when it names a variable holding a password, or holds one as such or XML-escaped.
        const secrets = [...this.#passwordValues(), ...this.#revealed, ...this.#peerSecrets].filter((p) => p.length > 0);
        const holdsPassword =
          listTemplateVariables({ name, text }).some((v) => {
            const value = (values as Record<string, unknown>)[v.name];
            return value !== undefined && secrets.includes(String(value));
          }) || secrets.some((p) => rendered.includes(p) || rendered.includes(xmlEscape(p)));
        const mode = holdsPassword ? 0o600 : (o.mode ?? 0o644);
        if (holdsPassword && o.mode !== undefined && (o.mode & 0o077) !== 0) log.warn(`${dest} holds a password: mode 0600 instead of ${o.mode.toString(8)}`);
        await mkdir(dirname(dest), { recursive: true });
        // Created private, so the password is never readable by others, not even for a moment.
        await writeFile(dest, rendered, { mode: 0o600 });
        await chmod(dest, 0o600);
        await setOwnership(dest, { ...o, mode }, where);
      },
      copyFile: async (from: string, to: string, o: Ownership = {}) => {
        const r = from.includes(':') && !from.startsWith('/') ? resolve(from) : undefined;
        if (r && r.kind !== 'contentResource') throw new UserError('FILEREF_UNRESOLVED', `cannot copy ${from}: ${r.kind === 'skipped' ? r.reason : 'no value'}`, { where });
        await copyWithOwnership(r?.kind === 'contentResource' ? r.path : from, to, o, where);
      },
      setOwnership: (path, o) => setOwnership(path, o, where),
      run: (req) => runProgram(req, opts.signal),
      utils: this.#utils.forPlugin({ name: pluginName, directory: this.#pluginDir(pluginName) }),
    };
  }
}

function view(set: PropertySet | EffectiveProperties): PropertyView[] {
  const list: Property[] = set instanceof EffectiveProperties ? [...set].map((e) => e.property) : set.list();
  return list.map((p) => ({ name: p.name, type: p.type, category: p.category, value: p.secret ? undefined : p.value, hasValue: p.hasValue }));
}

/** `valueOf` gives the holder's property values: the input's port follows the property it is tied to. */
function inputView(i: Input, valueOf: (name: string) => string | undefined): InputView {
  return { name: i.name, port: effectivePort(i, valueOf), protocols: i.protocols, interfaceName: i.interfaceName, properties: view(i.properties) };
}

function applianceView(a: Appliance, effective: EffectiveProperties, bindings: LateBindings): TargetApplianceView {
  return {
    name: a.name,
    type: a.type,
    creator: a.creator,
    properties: view(effective),
    property: (name) => (effective.has(name) ? effective.value(name) : undefined),
    inputs: a.inputs.map((i) => inputView(i, (n) => (effective.has(n) ? effective.value(n) : undefined))),
    outputs: a.outputs.map((o) => ({ name: o.name, protocol: o.protocol, properties: view(o.properties), peers: bindings.outputs[o.name] ?? [] })),
    fileSets: a.fileSets.map((f) => ({ name: f.name, root: f.root, owner: f.owner, group: f.group, captured: f.captured, scope: f.scope })),
    contentResources: a.contentResources.map((c) => c.name),
  };
}

function navigatorOf(assembly: Assembly): AssemblyNavigator {
  const members = new Map<string, Appliance | ExternalResource>();
  const walk = (a: Assembly | AtomicAssembly, prefix: string): void => {
    const list = a instanceof Assembly ? a.members : a.appliances;
    for (const m of list) {
      const p = `${prefix}${m.name}`;
      if (m instanceof Appliance || m instanceof ExternalResource) members.set(p, m);
      else walk(m, `${p}/`);
    }
  };
  walk(assembly, '');
  const connections = assembly.allConnections().map((c) => ({ from: formatEndpointRef(c.from), to: formatEndpointRef(c.to) }));
  return {
    name: assembly.name,
    members: () => [...members.keys()],
    member: (path) => {
      const m = members.get(path);
      if (!m) return undefined;
      return { name: m.name, type: m.type, external: m instanceof ExternalResource, properties: view(m.properties), inputs: m.inputs.map((i) => inputView(i, (n) => m.properties.get(n)?.value)) };
    },
    connections: () => connections,
  };
}
