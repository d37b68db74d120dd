/**
 * The agent's container mode, the entrypoint of an appliance image (docs/images.md):
 *
 *   /opt/abctl/node /opt/abctl/abctl-agent.mjs run --bundle /opt/abctl/bundle
 *
 * Rehydrates once per container (marker `/var/lib/abctl/rehydrated`), starts the product, stays
 * in the foreground, and on SIGTERM or SIGINT runs the stop chain and exits 0. A signal while
 * the product starts is the same request: the start is cut short, the stop chain runs, exit 0.
 * Exit 1 when rehydrate, start or stop fail, 130 when a signal came before rehydration finished.
 *
 * What a plain deploy writes into the bundle, a container gets from mounts: `$ABCTL_CONFIG_DIR`
 * (default /etc/abctl/config: properties.json, bindings.json) and `$ABCTL_SECRET_DIR` (default
 * /etc/abctl/secret: properties.json with password values). The image's bundle stays the base:
 * its appliance.xml and bindings.json are kept aside on first run, and each run derives
 * - a private copy of the bundle with every value, passwords included, under `$ABCTL_RUN_DIR`
 *   (default /run/abctl, removed on exit), which rehydrate, start and stop read;
 * - the image's bundle itself with the same values but no passwords. The health check
 *   (`ping --bundle /opt/abctl/bundle`) reads the private copy while there is one (pingBundle).
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AbError, PluginError, UserError, errorText } from '../../core/errors.js';
import type { LateBindings, LifecycleOperation } from '../../core/lifecycle-contract.js';
import { Appliance } from '../../core/metadata/index.js';
import { EffectiveProperties } from '../../core/rehydration/index.js';
import { parseDocument, renderDocument, type Plain } from '../../catalog/xml-codec.js';
import { JobInterrupted } from '../plugin-hooks.js';
import { runAgent } from './agent.js';
import { BUNDLE_APPLIANCE, BUNDLE_BINDINGS, BUNDLE_MANIFEST, parseManifest } from './bundle-format.js';
import { withoutPasswords } from './bundle.js';
import { setOwnership } from './host-ops.js';
import { PEER_SECRETS_FILE, fillPeerSecrets, splitPeerSecrets, type PeerSecrets } from './peer-secrets.js';

/** Paths of the container contract; the Kubernetes export mounts and probes the same ones. */
export const CONTAINER = Object.freeze({
  bundle: '/opt/abctl/bundle',
  agent: '/opt/abctl/abctl-agent.mjs',
  node: '/opt/abctl/node',
  configDir: '/etc/abctl/config',
  secretDir: '/etc/abctl/secret',
  stateDir: '/var/lib/abctl',
  runDir: '/run/abctl',
  propertiesFile: 'properties.json',
  bindingsFile: 'bindings.json',
  marker: 'rehydrated',
});

const USAGE = 'usage: node abctl-agent.mjs run [--bundle DIR] [--debug]';

export interface ForegroundEnv {
  readonly configDir: string;
  readonly secretDir: string;
  readonly stateDir: string;
  readonly runDir: string;
  readonly instanceIndex?: string;
}

export function foregroundEnv(env: NodeJS.ProcessEnv = process.env): ForegroundEnv {
  return {
    configDir: env['ABCTL_CONFIG_DIR'] || CONTAINER.configDir,
    secretDir: env['ABCTL_SECRET_DIR'] || CONTAINER.secretDir,
    stateDir: env['ABCTL_STATE_DIR'] || CONTAINER.stateDir,
    runDir: env['ABCTL_RUN_DIR'] || CONTAINER.runDir,
    ...(env['ABCTL_INSTANCE_INDEX'] ? { instanceIndex: env['ABCTL_INSTANCE_INDEX'] } : {}),
  };
}

/**
 * The bundle the health check (`ping --bundle /opt/abctl/bundle`) reads: while `run` keeps the
 * product up, its private copy (every value, passwords included; root only, like the exec that
 * runs the check), so that a ping which logs in (a database's) has its password; otherwise
 * the bundle given. The copy is only taken when it was made from that same bundle.
 */
export function pingBundle(bundleDir: string, env: ForegroundEnv = foregroundEnv()): string {
  const run = join(env.runDir, 'bundle');
  if (resolve(bundleDir) === resolve(run)) return bundleDir;
  const appliance = (dir: string): unknown => {
    try {
      return (JSON.parse(readFileSync(join(dir, BUNDLE_MANIFEST), 'utf8')) as { appliance?: unknown }).appliance;
    } catch {
      return undefined;
    }
  };
  const mine = appliance(run);
  return mine !== undefined && mine === appliance(bundleDir) ? run : bundleDir;
}

/** Where `run` says how far it is: `rehydrating`, `starting`, `running` (the start chain has finished) or `stopping`. */
export type RunPhase = 'rehydrating' | 'starting' | 'running' | 'stopping';
const PHASE_FILE = 'phase';

async function setPhase(env: ForegroundEnv, phase: RunPhase): Promise<void> {
  await writeFile(join(env.runDir, PHASE_FILE), `${phase}\n`, { mode: 0o600 });
}

/**
 * Why the health check must fail now, or undefined: while `run` keeps the private bundle the
 * check reads (pingBundle), it passes only once the whole start chain (plugin, then each
 * extension) has finished, and no more once stop began. A product that answers before its
 * extensions' start returned is not ready yet.
 */
export function notReady(bundleDir: string, env: ForegroundEnv = foregroundEnv()): string | undefined {
  const pinged = pingBundle(bundleDir, env);
  if (resolve(pinged) !== resolve(join(env.runDir, 'bundle'))) return undefined;
  let phase = '';
  try {
    phase = readFileSync(join(env.runDir, PHASE_FILE), 'utf8').trim();
  } catch {
    phase = 'preparing';
  }
  return phase === 'running' ? undefined : `the container is ${phase}: the health check passes once the start chain has finished`;
}

/** This container's identity: its host name, first non-internal IPv4 address, and index. */
export function containerInstance(env: ForegroundEnv, host: string = hostname()): LateBindings['instance'] {
  const addresses: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) addresses.push(a.address);
  let index = 1;
  if (env.instanceIndex !== undefined) {
    if (!/^[1-9]\d*$/.test(env.instanceIndex)) throw new UserError('IMAGE_CONFIG_INVALID', `ABCTL_INSTANCE_INDEX must be a whole number from 1, not "${env.instanceIndex}"`, { hint: 'set it to 1, 2, ... or leave it unset' });
    index = Number(env.instanceIndex);
  } else {
    // A StatefulSet's pods are <name>-0, <name>-1, ...; plans number instances from 1.
    const ordinal = /-(\d+)$/.exec(host);
    if (ordinal) index = Number(ordinal[1]) + 1;
  }
  return { hostName: host, addresses: addresses.slice(0, 1), index };
}

/** podman 4.3 mounts a Secret's values still base64-encoded: such a file is decoded when that gives JSON. */
function decodedSecret(text: string): string {
  const t = text.trim();
  if (t.startsWith('{') || !/^[A-Za-z0-9+/]+=*$/.test(t)) return text;
  const decoded = Buffer.from(t, 'base64').toString('utf8');
  return decoded.trim().startsWith('{') ? decoded : text;
}

async function readJsonFile(file: string, opts: { secret?: boolean } = {}): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
    if (opts.secret) text = decodedSecret(text);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError('IMAGE_CONFIG_INVALID', `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { where: file, hint: 'check the ConfigMap or Secret mounted there' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // podman 4.3's kube play mounts a Secret's data still base64-encoded: accept that form too.
    const t = text.trim();
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(t)) {
      try {
        return JSON.parse(Buffer.from(t, 'base64').toString('utf8')) as unknown;
      } catch {
        // Not that either: report the text as it is.
      }
    }
    throw new UserError('IMAGE_CONFIG_INVALID', `${file} is not valid JSON: ${(err as Error).message}`, { where: file, hint: 'fix the ConfigMap or Secret mounted there' });
  }
}

async function readProperties(file: string, opts: { secret?: boolean } = {}): Promise<Record<string, string>> {
  const raw = await readJsonFile(file, opts);
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
    throw new UserError('IMAGE_CONFIG_INVALID', `${file} must be one JSON object of property names to string values`, { where: file, hint: 'e.g. {"port": "8080", "server.name": "web-1"}' });
  }
  return raw as Record<string, string>;
}

/** The Secret's peer password values (peer-secrets.ts); none when it has no such file. */
async function readPeerSecrets(file: string): Promise<PeerSecrets> {
  const raw = await readJsonFile(file, { secret: true });
  if (raw === undefined) return {};
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const valid = isObject(raw) && Object.values(raw).every((peers) => isObject(peers) && Object.values(peers).every((props) => isObject(props) && Object.values(props).every((v) => typeof v === 'string')));
  if (!valid) {
    throw new UserError('IMAGE_CONFIG_INVALID', `${file} must be a JSON object: output name -> "appliance/input" of the peer -> property name -> value`, {
      where: file,
      hint: 'e.g. {"db": {"pg/postgres": {"password": "..."}}}; abctl writes it into the instance\'s Secret',
    });
  }
  return raw as PeerSecrets;
}

/**
 * The image's appliance with the mounted values laid over it. Names are checked as a plan's are
 * (unknown and system properties refused); a password in the ConfigMap is refused, since a
 * ConfigMap is not secret, and a non-password in the Secret is refused as a likely mix-up.
 */
export function applyRuntimeProperties(appliance: Appliance, config: Readonly<Record<string, string>>, secret: Readonly<Record<string, string>>, files: { config: string; secret: string }): Appliance {
  const copy = Appliance.fromPlain(appliance.toPlain());
  for (const [name, file, wantSecret] of [...Object.keys(config).map((n) => [n, files.config, false] as const), ...Object.keys(secret).map((n) => [n, files.secret, true] as const)]) {
    const p = copy.properties.get(name);
    if (p !== undefined && p.secret !== wantSecret) {
      throw new UserError('IMAGE_CONFIG_INVALID', wantSecret ? `property "${name}" is not a password; it belongs in ${files.config}, not the Secret` : `property "${name}" is a password; its value belongs in the Secret (${files.secret}), never in a ConfigMap`, {
        where: file,
        hint: 'move it to the other file',
      });
    }
  }
  const overrides = [...Object.entries(config), ...Object.entries(secret)].map(([name, value]) => ({ name, value }));
  if (overrides.length === 0) return copy;
  const where = `${files.config} / ${files.secret}`;
  try {
    // The plan's checks: unknown names, system properties, values of the wrong type.
    EffectiveProperties.compute({ introspected: copy.properties.list(), plan: overrides }, where);
  } catch (err) {
    if (err instanceof AbError) throw new UserError('IMAGE_CONFIG_INVALID', err.message.replace('the deployment plan', 'the mounted configuration'), { where, hint: 'properties.json may set only the appliance\'s user properties' });
    throw err;
  }
  for (const o of overrides) copy.properties.set(o.name, o.value, 'framework');
  return copy;
}

export interface Prepared {
  /** The private bundle the lifecycle operations read. */
  readonly runBundle: string;
}

/**
 * The private bundle a container's run operates on: the image's (or given) bundle with the
 * mounted ConfigMap's values and the Secret's passwords laid over it. Exported for tests.
 */
export async function prepare(bundleDir: string, env: ForegroundEnv): Promise<Prepared> {
  const manifestFile = join(bundleDir, BUNDLE_MANIFEST);
  const manifest = parseManifest(await readFile(manifestFile, 'utf8').catch(() => {
    throw new UserError('BUNDLE_INCOMPLETE', `${manifestFile} cannot be read`, { where: manifestFile, hint: 'is this an appliance image written by abctl createTemplate?' });
  }), manifestFile);
  // The image's own files, kept once: later runs (a restarted container) start from them again.
  const pristine = join(env.stateDir, 'image-bundle');
  if (!existsSync(join(pristine, BUNDLE_MANIFEST))) {
    await mkdir(pristine, { recursive: true, mode: 0o700 });
    for (const f of [BUNDLE_APPLIANCE, BUNDLE_BINDINGS]) await cp(join(bundleDir, f), join(pristine, f));
    await writeFile(join(pristine, BUNDLE_MANIFEST), `${JSON.stringify({ appliance: manifest.appliance })}\n`, { mode: 0o600 });
  }
  const applianceFile = join(pristine, BUNDLE_APPLIANCE);
  const plain = parseDocument(await readFile(applianceFile, 'utf8'), { where: applianceFile }).plain;
  // An image's bundle has no password values. A deploy's bundle given to run has them sealed
  // with a key no container is given: here, as in an image, passwords come from the Secret only.
  const image = Appliance.fromPlain((manifest.passwordKey ? withoutPasswords(plain) : plain) as Plain);
  const files = { config: join(env.configDir, CONTAINER.propertiesFile), secret: join(env.secretDir, CONTAINER.propertiesFile) };
  const appliance = applyRuntimeProperties(image, await readProperties(files.config), await readProperties(files.secret, { secret: true }), files);

  const imageBindings = (await readJsonFile(join(pristine, BUNDLE_BINDINGS))) as LateBindings | undefined;
  const bindingsFile = join(env.configDir, CONTAINER.bindingsFile);
  const mounted = (await readJsonFile(bindingsFile)) as Partial<LateBindings> | undefined;
  if (mounted !== undefined && (typeof mounted !== 'object' || mounted === null || (mounted.outputs !== undefined && typeof mounted.outputs !== 'object'))) {
    throw new UserError('IMAGE_CONFIG_INVALID', `${bindingsFile} must be a JSON object with "outputs" (output name -> peers)`, { where: bindingsFile, hint: 'see docs/images.md for its shape' });
  }
  // Peers' password values never come from the ConfigMap or the image (any there are dropped):
  // only from the Secret, and only into the private copy below.
  const bindings = splitPeerSecrets({ instance: containerInstance(env), outputs: mounted?.outputs ?? imageBindings?.outputs ?? {} }).bindings;
  const runBindings = fillPeerSecrets(bindings, await readPeerSecrets(join(env.secretDir, PEER_SECRETS_FILE)));

  const runBundle = join(env.runDir, 'bundle');
  await rm(runBundle, { recursive: true, force: true });
  await mkdir(env.runDir, { recursive: true, mode: 0o700 });
  await chmod(env.runDir, 0o700);
  await cp(bundleDir, runBundle, { recursive: true });
  const xml = (plain: unknown, where: string): string => renderDocument('appliance', plain as Plain, { where });
  await writeFile(join(runBundle, BUNDLE_APPLIANCE), xml(appliance.toPlain(), join(runBundle, BUNDLE_APPLIANCE)), { mode: 0o600 });
  await writeFile(join(bundleDir, BUNDLE_APPLIANCE), xml(withoutPasswords(appliance.toPlain()), join(bundleDir, BUNDLE_APPLIANCE)), { mode: 0o600 });
  await writeFile(join(runBundle, BUNDLE_BINDINGS), `${JSON.stringify(runBindings, null, 2)}\n`, { mode: 0o600 });
  await writeFile(join(bundleDir, BUNDLE_BINDINGS), `${JSON.stringify(bindings, null, 2)}\n`, { mode: 0o600 });
  if (manifest.passwordKey) {
    // The private copy holds the Secret's values in clear: no key applies to it. (The bundle
    // itself keeps saying sealed: its kept original, read again by the next run, still is.)
    const { passwordKey: _sealed, ...unsealed } = manifest;
    await writeFile(join(runBundle, BUNDLE_MANIFEST), `${JSON.stringify(unsealed, null, 2)}\n`, { mode: 0o600 });
  }
  return { runBundle };
}

/** File sets whose layer could not carry the definition's owner (the base lacked the account) get it now. */
async function ownFileSets(bundleDir: string, log: (l: string) => void): Promise<void> {
  const file = join(bundleDir, BUNDLE_MANIFEST);
  const manifest = parseManifest(await readFile(file, 'utf8'), file);
  for (const fs of manifest.fileSets) {
    if (!fs.inImage || fs.ownerInLayer !== false) continue;
    log(`file set ${fs.name}: giving ${fs.root} to ${fs.owner}:${fs.group}`);
    await setOwnership(fs.root, { owner: fs.owner, group: fs.group, recursive: true }, `file set "${fs.name}" (root ${fs.root})`);
  }
}

/** How long the process may outlive `run`'s outcome after a signal cut a plugin hook short. */
const CUT_SHORT_GRACE_MS = 2000;

export async function foregroundMain(argv: readonly string[], out: (s: string) => void, err: (s: string) => void, env: ForegroundEnv = foregroundEnv()): Promise<number> {
  const state = { cutShort: false };
  const code = await foreground(argv, out, err, env, state);
  // A hook the signal cut short may still run timers (a start polling its product) that would keep
  // Node, and so the container, alive after the stop chain has run: end the process regardless.
  if (state.cutShort) setTimeout(() => process.exit(code), CUT_SHORT_GRACE_MS).unref();
  return code;
}

async function foreground(argv: readonly string[], out: (s: string) => void, err: (s: string) => void, env: ForegroundEnv, state: { cutShort: boolean }): Promise<number> {
  let values: { bundle?: string; debug?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { bundle: { type: 'string' }, debug: { type: 'boolean' }, help: { type: 'boolean' } } }));
  } catch (e) {
    err(`error: ${errorText(e)}\n  hint: ${USAGE}\n`);
    return 1;
  }
  if (values.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  const bundleDir = values.bundle ?? CONTAINER.bundle;
  const debug = values.debug === true;
  const log = (line: string): void => err(`${line}\n`);
  const controller = new AbortController();
  let stopRequested: (() => void) | undefined;
  const stopWanted = new Promise<void>((resolve) => (stopRequested = resolve));
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`abctl: ${sig} received`);
    controller.abort(new Error(`interrupted by ${sig}`));
    stopRequested?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let runBundle: string | undefined;
  // What a signal cuts short: only a rehydration left unfinished is an interruption (130).
  let phase = 'preparing' as RunPhase | 'preparing';
  const enter = async (next: RunPhase): Promise<void> => {
    phase = next;
    await setPhase(env, next);
  };
  const op = (operation: LifecycleOperation, signal?: AbortSignal) => runAgent({ bundleDir: runBundle as string, operation, sink: log, debug, ...(signal ? { signal } : {}) });
  try {
    try {
      ({ runBundle } = await prepare(bundleDir, env));
      const marker = join(env.stateDir, CONTAINER.marker);
      if (existsSync(marker)) log('abctl: already rehydrated in this container; starting');
      else {
        await enter('rehydrating');
        await ownFileSets(runBundle, log);
        await op('rehydrate', controller.signal);
        await writeFile(marker, `${new Date().toISOString()}\n`);
        log('abctl: rehydrated');
      }
      await enter('starting');
      const started = await op('start', controller.signal);
      await enter('running');
      log(`abctl: started (${started.ran.join(', ') || 'no plugin implements start'}); running until SIGTERM`);
    } catch (e) {
      if (!(controller.signal.aborted || e instanceof JobInterrupted)) throw e;
      state.cutShort = true;
      if (phase !== 'starting') {
        log(`abctl: interrupted before the product was up: ${errorText(e)}`);
        return 130;
      }
      // An engine stops a container whenever it is asked to, starting or not (podman stop, a pod
      // deleted during its start): that is a stop, not a failure. The start cut short may have
      // left a server running, so the stop chain runs as it would for a running product; its
      // failure is the container's (exit 1 below).
      log(`abctl: stop requested while starting (${errorText(e)}); stopping`);
    }
    if (phase === 'running') {
      // The product runs detached, so nothing else keeps Node's event loop (and the container) alive.
      const keepAlive = setInterval(() => {}, 60_000);
      try {
        await stopWanted;
      } finally {
        clearInterval(keepAlive);
      }
    }
    await enter('stopping');
    const stopped = await op('stop');
    log(`abctl: stopped (${stopped.ran.join(', ') || 'no plugin implements stop'})`);
    return 0;
  } catch (e) {
    const text = e instanceof PluginError ? `error in plugin ${e.plugin}: ${e.describe()}` : `error: ${errorText(e)}`;
    err(`${text}\n`);
    if (debug && e instanceof Error && e.stack) err(`${e.stack}\n`);
    return 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (runBundle !== undefined) {
      await rm(join(env.runDir, PHASE_FILE), { force: true }).catch(() => {});
      await rm(runBundle, { recursive: true, force: true }).catch(() => {});
    }
  }
}
