/**
 * Deployments: deploy an assembly with a plan onto the plan's targets, then ping, stop,
 * start, scale and undeploy it from any later process. Every command takes the deployment's
 * lock, works from its record and writes each instance's status as it changes, so that a
 * failure or a kill leaves a record that says what is where, and running the command again
 * picks up from there.
 */
import { mkdir, mkdtemp, rm, copyFile, symlink } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve } from 'node:path';
import { inject, injectable, multiInject, optional } from 'inversify';
import { Catalog } from '../../catalog/index.js';
import { SecretBox } from '../../catalog/secrets.js';
import { describePlanProblem, resolveObjectPath, type DeploymentPlan } from '../../core/deployment-plan/index.js';
import { AbError, UserError, errorText } from '../../core/errors.js';
import { effectivePort, type Assembly, type Input, type Property } from '../../core/metadata/index.js';
import { DeploymentPlanService } from '../editing/deployment-plans.js';
import { HostRequirementsCheck, type HostCheckOptions } from '../validation/port.js';
import { InstanceLayout } from '../instance.js';
import { applianceAt, applyPlan } from '../rehydration/plan-overlay.js';
import { BundleKey, KEY_STDIN_OPTION } from '../rehydration/bundle-key.js';
import { BUNDLE_FORMAT_VERSION } from '../rehydration/bundle-format.js';
import { madeAppliance } from '../rehydration/recorded-chain.js';
import { AGENT_STEP_MARK, BundleWriter, type AgentOperation, type LateBindings, type PeerBinding } from './bundle-port.js';
import { withDeploymentLock } from './lock.js';
import { findRootConflicts, hostKey, type PlacedRoots } from './root-conflicts.js';
import { forEachBounded } from './pool.js';
import {
  DeploymentFiles,
  RECORD_FORMAT_VERSION,
  RecordWriter,
  listDeployments,
  logTail,
  openInstanceLog,
  readRecord,
  removeDeploymentFiles,
  requireRecord,
  shownRecord,
  type DeploymentRecord,
  type InstanceRecord,
  type InstanceStatus,
} from './records.js';
import { DeploymentTarget, type AgentRun, type EngineInstance, type InstanceEngine, type TargetConnection, type TargetOptions } from './target.js';
import { appliancesOf, checkCount, clientsOf, instanceId, linksOf, placeInstance, plannedCount, startOrder, type ApplianceSlot, type Link } from './topology.js';

/** Where hosts keep deployments unless told otherwise. */
export const DEFAULT_TARGET_ROOT = '/var/lib/abctl';
/** Steps mostly wait on remote processes, so more run at once than there are cores here. */
export const DEFAULT_PARALLEL = 8;
export const DEFAULT_STEP_TIMEOUT_MS = 300_000;

export interface ProgressEvent {
  readonly id: string;
  readonly target: string;
  readonly status: InstanceStatus | 'skipped' | 'healthy' | 'unhealthy';
  readonly message?: string;
}

export interface CommandOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly targetOptions?: TargetOptions;
  /** Instances worked on at once (default 8). */
  readonly parallel?: number;
  /** Limit of each step on a host: shipping, rehydrate, start, stop, ping (default AB_DEPLOY_STEP_TIMEOUT_MS or 300 s). */
  readonly stepTimeoutMs?: number;
}

export interface DeployOptions extends CommandOptions {
  readonly assembly: string;
  readonly planFile: string;
  /** Default: the assembly's name. */
  readonly name?: string;
  /** Directory on every host under which deploy writes (default /var/lib/abctl). */
  readonly targetRoot?: string;
}

export interface InstanceFailure {
  readonly id: string;
  readonly target: string;
  readonly step: string;
  readonly message: string;
  /** The error's code and what to do about it, when the error says (a host key to add, Node.js to install). */
  readonly code?: string;
  readonly hint?: string;
  /** The end of the instance's log. */
  readonly logTail: string;
}

export interface CommandResult {
  readonly record: DeploymentRecord;
  readonly failures: readonly InstanceFailure[];
  /** What the user should know though nothing failed (deploy: extensions left out or older than recorded). */
  readonly warnings?: readonly string[];
}

export interface HealthRow {
  readonly id: string;
  readonly appliance: string;
  readonly target: string;
  readonly hostname: string;
  readonly status: InstanceStatus;
  readonly healthy: boolean;
  readonly message: string;
}

export interface DeploymentSummary {
  readonly record: DeploymentRecord;
  /** Counts per instance status. */
  readonly statuses: Readonly<Partial<Record<InstanceStatus, number>>>;
}

function stepTimeout(opts: CommandOptions): number {
  return opts.stepTimeoutMs ?? (Number(process.env.AB_DEPLOY_STEP_TIMEOUT_MS) || DEFAULT_STEP_TIMEOUT_MS);
}

interface Model {
  readonly assembly: Assembly;
  readonly plan: DeploymentPlan;
  /** The assembly with the plan's values laid over it: peers' input properties come from here. */
  readonly overlaid: Assembly;
  readonly slots: ApplianceSlot[];
  readonly links: Link[];
}

/** An input's port and properties (an external resource's properties under its input's), as strings. */
export function peerInput(overlaid: Assembly, l: Link): { port: number | undefined; properties: Record<string, string>; secretProperties: string[] } {
  const props: Record<string, string> = {};
  // Password-type names, so that wherever the bindings rest these values are kept apart (peer-secrets.ts).
  const secrets = new Set<string>();
  const take = (list: readonly Property[]): void => {
    for (const p of list) {
      if (p.value === undefined) continue;
      props[p.name] = p.value;
      if (p.secret) secrets.add(p.name);
      else secrets.delete(p.name);
    }
  };
  let port: number | undefined;
  try {
    const holder = resolveObjectPath(overlaid, l.to);
    if (l.external) take(holder.properties.list());
    const found = resolveObjectPath(overlaid, `${l.to}/input/${l.input}`);
    take(found.properties.list());
    const input = (found.holder as { getInput?: (n: string) => Input | undefined }).getInput?.(l.input);
    // The port the peer really listens on: the plan may have changed the property it comes from.
    if (input) port = effectivePort(input, (n) => holder.properties.get(n)?.value, found.where);
  } catch (err) {
    if (err instanceof UserError) throw err;
    // The link came from the same assembly, so its ends exist; nothing to add if not.
  }
  return { port, properties: props, secretProperties: [...secrets].sort() };
}

/** Ports of an appliance's inputs with the plan applied (record and messages). */
function inputPorts(overlaid: Assembly, key: string): { input: string; port: number }[] {
  const app = applianceAt(overlaid, key);
  const out: { input: string; port: number }[] = [];
  for (const i of app.inputs) {
    const port = effectivePort(i, (n) => app.properties.get(n)?.value, app.where);
    if (port !== undefined) out.push({ input: i.name, port });
  }
  return out;
}

/** Roots of the appliance's own local file sets (a sibling of an atomic assembly has none: it uses the first's). */
function localRoots(slot: ApplianceSlot): string[] {
  return slot.appliance.fileSets.filter((f) => f.scope === 'local').map((f) => f.root);
}

/** For an external resource the user names the host in its properties (`host`, `hostname`, `address`). */
export function hostFromProperties(props: Record<string, string>): string[] {
  const v = props['host'] ?? props['hostname'] ?? props['hostName'] ?? props['address'];
  return v ? [v] : [];
}

/** The first bundle format whose agent takes the key on stdin (--key-stdin). */
const KEYED_BUNDLE_FORMAT = 2;

/** Everything a command needs while it holds the lock. */
interface Session {
  readonly files: DeploymentFiles;
  readonly writer: RecordWriter;
  readonly opts: CommandOptions;
  readonly connections: Map<string, Promise<TargetConnection>>;
  readonly failures: InstanceFailure[];
  /** Loaded only by commands that build bundles. */
  model?: Model;
  /** The catalog key, which encrypts the instances' bundle keys in the record; loaded on first use. */
  box?: Promise<SecretBox>;
}

/** The record and its failures in the record's instance order (they are found in parallel, in any order). */
function outcome(session: Session): { record: DeploymentRecord; failures: InstanceFailure[] } {
  const record = session.writer.record;
  const rank = new Map(record.instances.map((i, n) => [i.id, n]));
  const failures = [...session.failures].sort((a, b) => (rank.get(a.id) ?? Infinity) - (rank.get(b.id) ?? Infinity));
  return { record: shownRecord(record), failures };
}

@injectable()
export class DeploymentService {
  constructor(
    @inject(InstanceLayout) private readonly layout: InstanceLayout,
    @multiInject(DeploymentTarget) private readonly targets: DeploymentTarget[],
    @inject(DeploymentPlanService) private readonly plans: DeploymentPlanService,
    @inject(Catalog) private readonly catalog: Catalog,
    @inject(BundleWriter) @optional() private readonly bundles: BundleWriter | undefined,
    @inject(HostRequirementsCheck) @optional() private readonly hostCheck?: HostRequirementsCheck,
  ) {}

  files(name: string): DeploymentFiles {
    return new DeploymentFiles(this.layout.root, name);
  }

  // ------------------------------------------------------------------ reading

  async list(): Promise<DeploymentSummary[]> {
    const out: DeploymentSummary[] = [];
    for (const name of await listDeployments(this.layout.root)) {
      const record = await readRecord(this.files(name));
      if (record) out.push(summarize(record));
    }
    return out;
  }

  async describe(name: string): Promise<DeploymentSummary> {
    return summarize(await requireRecord(this.files(name)));
  }

  // ------------------------------------------------------------------ deploy

  async deploy(opts: DeployOptions): Promise<CommandResult> {
    const name = opts.name ?? opts.assembly;
    const files = this.files(name);
    return withDeploymentLock(files, 'deploy', async () => {
      const loaded = await this.#loadPlan(opts.assembly, opts.planFile);
      const existing = await readRecord(files);
      if (existing && existing.assembly !== opts.assembly) {
        throw new UserError('DEPLOYMENT_EXISTS', `deployment "${name}" is of assembly "${existing.assembly}", not "${opts.assembly}"`, {
          where: files.dir,
          hint: `choose another --name, or undeploy "${name}" first`,
        });
      }
      // The chains the appliances were made with, against the plugins their bundles would get: before anything is written.
      const warnings = await this.#checkChains(loaded.slots.filter((s) => plannedCount(s) > 0), opts.assembly);
      const targetRoot = existing?.targetRoot ?? opts.targetRoot ?? DEFAULT_TARGET_ROOT;
      if (!posix.isAbsolute(targetRoot)) {
        throw new UserError('DEPLOY_TARGET_ROOT_INVALID', `target root "${targetRoot}" is not an absolute path`, { where: name, hint: 'give an absolute directory, e.g. /var/lib/abctl' });
      }
      const { slots, order } = loaded;
      // Resume keeps what the record says about instances it already has (placement, host directory).
      const known = new Map((existing?.instances ?? []).map((i) => [i.id, i]));
      const instances: InstanceRecord[] = [];
      for (const slot of slots) {
        const count = plannedCount(slot);
        checkCount(slot, count);
        for (let index = 1; index <= count; index++) {
          const id = instanceId(slot, index);
          const ports = inputPorts(loaded.model.overlaid, slot.key);
          const had = known.get(id);
          // A resumed instance keeps its placement; its ports follow the plan as it is now.
          instances.push(had ? { ...had, ports, roots: localRoots(slot) } : this.#newInstance(name, targetRoot, slot, index, ports));
        }
      }
      await this.#checkRoots(name, instances, []);
      const todo = (i: InstanceRecord) => i.status !== 'running';
      const connections: Session['connections'] = new Map();
      // Every host this run needs, reached (and its Node.js checked) before anything else is
      // done there: a host that cannot be reached is one error, not one per instance.
      await this.#reachAll(connections, opts, instances.filter(todo));
      try {
        // The plugins' requirements of each target host (docs/requirements.md), before anything is written.
        await this.hostCheck?.beforeDeploy(loaded.model.assembly, loaded.model.plan, this.#checkOptions(opts));
      } catch (err) {
        await closeAll(connections);
        throw err;
      }
      await mkdir(files.dir, { recursive: true });
      // The plan is kept beside the record: later commands rebuild bundles from the same plan.
      if (resolve(opts.planFile) !== files.planFile) await copyFile(opts.planFile, files.planFile);
      const now = new Date().toISOString();
      const record: DeploymentRecord = {
        formatVersion: RECORD_FORMAT_VERSION,
        name,
        assembly: opts.assembly,
        planSource: resolve(opts.planFile),
        targetRoot,
        order: order.flat(),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
        instances,
      };
      let writer: RecordWriter;
      try {
        writer = await RecordWriter.create(files, record);
      } catch (err) {
        await closeAll(connections);
        throw err;
      }
      const session: Session = { files, writer, opts, connections, failures: [], model: loaded.model };
      try {
        await this.#fillIdentities(session);
        await this.#inOrder(session, order, todo, (i) => this.#bringUp(session, i));
        return { ...outcome(session), warnings };
      } finally {
        await this.#close(session);
      }
    });
  }

  /** Refuses a recorded extension that is gone; the warnings for the output (services/rehydration/recorded-chain.ts). */
  async #checkChains(slots: readonly ApplianceSlot[], assembly: string): Promise<string[]> {
    const made = slots.map((s) => madeAppliance(s.key, s.appliance));
    return made.length === 0 ? [] : ((await this.bundles?.checkChains?.(made, `assembly "${assembly}"`)) ?? []);
  }

  #checkOptions(opts: CommandOptions): HostCheckOptions {
    return { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.targetOptions ? { targetOptions: opts.targetOptions } : {}) };
  }

  /** A new instance record, placed on its target. */
  #newInstance(deployment: string, targetRoot: string, slot: ApplianceSlot, index: number, ports: InstanceRecord['ports']): InstanceRecord {
    const id = instanceId(slot, index);
    return {
      id,
      appliance: slot.key,
      path: slot.path,
      index,
      target: placeInstance(slot, index),
      hostname: '',
      address: '',
      dir: posix.join(targetRoot, 'deployments', deployment, id),
      ports,
      roots: localRoots(slot),
      status: 'pending',
      updatedAt: new Date().toISOString(),
    };
  }

  /**
   * Refuses instances that would write a file set root another instance on the same host
   * writes (of this deployment, `peers`, or of another deployment of this instance directory):
   * they would overwrite each other's product, and stopping one would stop the other.
   */
  async #checkRoots(name: string, mine: readonly InstanceRecord[], peers: readonly InstanceRecord[]): Promise<void> {
    const placed = (deployment: string) => (i: InstanceRecord): PlacedRoots => ({ deployment, id: i.id, target: i.target, roots: i.roots ?? [] });
    if (!mine.some((i) => (i.roots ?? []).length > 0)) return;
    const others: PlacedRoots[] = peers.map(placed(name));
    for (const other of await listDeployments(this.layout.root)) {
      if (other === name) continue;
      const record = await readRecord(this.files(other)).catch(() => undefined);
      for (const i of record?.instances ?? []) if (i.status !== 'removed') others.push(placed(other)(i));
    }
    const conflicts = findRootConflicts(mine.map(placed(name)), others);
    if (conflicts.length === 0) return;
    const said = (p: PlacedRoots) => (p.deployment === name ? `instance ${p.id}` : `instance ${p.id} of deployment "${p.deployment}"`);
    throw new UserError(
      'DEPLOY_ROOT_CONFLICT',
      `two instances on one host would write the same files:\n${conflicts.map((c) => `  ${said(c.mine)} on ${c.mine.target} writes ${c.root}, as ${said(c.other)} does (${c.otherRoot})`).join('\n')}`,
      {
        where: name,
        hint: 'file sets land at their original paths, so such instances need hosts of their own: give them other targets in the plan (<host instance="N" target="...">), or undeploy the other deployment first',
      },
    );
  }

  async #loadPlan(assembly: string, planFile: string) {
    const { model, plan, problems } = await this.plans.load(assembly, planFile);
    if (problems.length > 0) {
      throw new UserError('DEPLOY_PLAN_INVALID', `the plan cannot be deployed:\n${problems.map((p) => `  ${describePlanProblem(p, planFile)}`).join('\n')}`, {
        where: planFile,
        hint: `fix these, then check with abctl validateDeploymentPlan --assembly ${assembly} --plan ${planFile}`,
      });
    }
    const slots = appliancesOf(model, plan);
    const links = linksOf(model, slots);
    const order = startOrder(slots, links);
    const m: Model = { assembly: model, plan, overlaid: applyPlan(model, plan).assembly, slots, links };
    return { model: m, slots, links, order };
  }

  async #model(session: Session): Promise<Model> {
    if (!session.model) {
      const r = session.writer.record;
      session.model = (await this.#loadPlan(r.assembly, session.files.planFile)).model;
    }
    return session.model;
  }

  // ------------------------------------------------------------------ targets

  #target(spec: string): DeploymentTarget {
    const t = this.targets.find((x) => x.accepts(spec));
    if (!t) {
      throw new UserError('DEPLOY_TARGET_UNKNOWN', `no deployment target handles "${spec}"`, {
        where: spec,
        hint: `known kinds: ${this.targets.map((x) => x.kind).join(', ')}; write target="local" or target="ssh://user@host:22"`,
      });
    }
    return t;
  }

  /** One connection per target for the whole command, checked (Node.js present) once. */
  #connect(session: Session, spec: string): Promise<TargetConnection> {
    return this.#connectIn(session.connections, session.opts, spec);
  }

  #connectIn(connections: Session['connections'], opts: CommandOptions, spec: string): Promise<TargetConnection> {
    let c = connections.get(spec);
    if (!c) {
      c = (async () => {
        const conn = await this.#target(spec).open(spec, opts.targetOptions ?? {});
        try {
          await conn.check();
        } catch (err) {
          await conn.close().catch(() => {});
          throw err;
        }
        return conn;
      })();
      c.catch(() => {});
      connections.set(spec, c);
    }
    return c;
  }

  /**
   * Opens the targets of `instances` at once; if any cannot be opened (unreachable, login or host
   * key refused, no Node.js), closes the others and throws one error naming each such host,
   * what went wrong there and which instances it holds.
   */
  async #reachAll(connections: Session['connections'], opts: CommandOptions, instances: readonly InstanceRecord[]): Promise<void> {
    const specs = [...new Set(instances.map((i) => i.target))];
    const results = await Promise.allSettled(specs.map((spec) => this.#connectIn(connections, opts, spec)));
    const failed = specs.flatMap((spec, k) => {
      const r = results[k];
      return r?.status === 'rejected' ? [{ spec, err: r.reason as unknown }] : [];
    });
    if (failed.length === 0) return;
    await closeAll(connections);
    if (opts.signal?.aborted) throw failed[0]?.err;
    const held = (spec: string) => {
      const ids = instances.filter((i) => i.target === spec).map((i) => i.id);
      return `${ids.join(', ')} cannot be deployed there`;
    };
    const said = (err: unknown) => (err instanceof AbError ? err.message : errorText(err));
    const hints = [...new Set(failed.flatMap(({ err }) => (err instanceof AbError && err.hint !== undefined ? [err.hint] : [])))];
    const hint = `${hints.length > 0 ? `${hints.join('; ')}; then ` : 'fix that, then '}run the same command again (nothing was deployed or recorded by this run)`;
    const [one] = failed;
    if (one && failed.length === 1) {
      // The host's own error (its code says what kind: refused, login, host key, Node.js), once.
      throw new UserError(one.err instanceof AbError ? one.err.code : 'DEPLOY_HOSTS_UNUSABLE', `${held(one.spec)}: ${said(one.err)}`, { where: one.spec, hint, cause: one.err });
    }
    throw new UserError('DEPLOY_HOSTS_UNUSABLE', `${failed.length} hosts cannot be used:\n${failed.map(({ spec, err }) => `  ${spec}: ${held(spec)}: ${said(err)}`).join('\n')}`, {
      where: failed.map((f) => f.spec).join(', '),
      hint,
    });
  }

  async #close(session: Session): Promise<void> {
    await session.writer.flush().catch(() => {});
    await closeAll(session.connections);
  }

  /** Host names and addresses, which bindings need before any bundle is written. */
  async #fillIdentities(session: Session): Promise<void> {
    const specs = [...new Set(session.writer.record.instances.filter((i) => i.hostname === '').map((i) => i.target))];
    await Promise.all(
      specs.map(async (spec) => {
        let id: { hostname: string; address: string };
        try {
          id = await (await this.#connect(session, spec)).identity();
        } catch {
          return; // Reported per instance when its turn comes.
        }
        // All of them in one record write (changes made while a write waits share it), not one write (with fsync) each in turn.
        const writes = session.writer.record.instances.filter((i) => i.target === spec && i.hostname === '').map((i) => session.writer.setInstance(i.id, { hostname: id.hostname, address: id.address, status: i.status }));
        await Promise.all(writes);
      }),
    );
  }

  // ------------------------------------------------------------------ steps

  /**
   * Runs `fn` on the selected instances, appliance by appliance in `layers` order, instances
   * of one layer in parallel (bounded). An appliance whose dependency has a failed instance
   * is not started: it would come up against a missing peer.
   */
  async #inOrder(session: Session, layers: readonly (readonly string[])[], select: (i: InstanceRecord) => boolean, fn: (i: InstanceRecord) => Promise<boolean>, links?: readonly Link[]): Promise<void> {
    const failedApps = new Set<string>();
    const deps = new Map<string, string[]>();
    for (const l of links ?? session.model?.links ?? []) if (!l.external) deps.set(l.from, [...(deps.get(l.from) ?? []), l.to]);
    for (const layer of layers) {
      const items: InstanceRecord[] = [];
      for (const key of layer) {
        for (const i of session.writer.record.instances.filter((x) => x.appliance === key && select(x))) {
          const blocked = (deps.get(key) ?? []).find((d) => failedApps.has(d));
          if (blocked) {
            this.#emit(session, i, 'skipped', `not started: it connects to "${blocked}", which failed`);
            failedApps.add(key);
            continue;
          }
          items.push(i);
        }
      }
      await forEachBounded(items, session.opts.parallel ?? DEFAULT_PARALLEL, async (i) => {
        if (session.opts.signal?.aborted) return;
        const ok = await fn(session.writer.instance(i.id));
        if (!ok) failedApps.add(i.appliance);
      });
      if (session.opts.signal?.aborted) {
        throw new UserError('DEPLOY_INTERRUPTED', `interrupted; deployment "${session.files.name}" is recorded as far as it got`, {
          where: session.files.dir,
          hint: 'run the same command again to resume',
        });
      }
    }
  }

  #emit(session: Session, i: InstanceRecord, status: ProgressEvent['status'], message?: string): void {
    session.opts.onProgress?.({ id: i.id, target: i.target, status, ...(message !== undefined ? { message } : {}) });
  }

  async #status(session: Session, i: InstanceRecord, status: InstanceStatus, change: Partial<InstanceRecord> = {}): Promise<void> {
    await session.writer.setInstance(i.id, { ...change, status });
    this.#emit(session, i, status);
  }

  /** Marks the instance failed at `step`, with the log's tail for the report. Returns false. */
  async #fail(session: Session, i: InstanceRecord, step: string, err: unknown): Promise<false> {
    const message = err instanceof AbError ? err.message : errorText(err);
    await session.writer.setInstance(i.id, { status: 'failed', failedStep: step, error: message });
    const tail = await logTail(session.files, i.id);
    const said = err instanceof AbError ? { code: err.code, ...(err.hint !== undefined ? { hint: err.hint } : {}) } : {};
    session.failures.push({ id: i.id, target: i.target, step, message, ...said, logTail: tail });
    this.#emit(session, i, 'failed', `${step}: ${message}`);
    return false;
  }

  /**
   * Runs agent operations in one process (`rehydrate start` at deploy: one Node.js start-up
   * less), their output appended to the instance's log; `onStep` hears when each begins (the
   * agent's marker line). A non-zero exit throws, except for ping.
   */
  async #agent(
    session: Session,
    conn: TargetConnection,
    i: InstanceRecord,
    ops: AgentOperation | readonly AgentOperation[],
    onStep?: (op: AgentOperation) => void,
    keep: readonly string[] = [],
    via: (run: AgentRun) => Promise<number> = (run) => conn.runNode(run),
  ): Promise<{ code: number; lastLine: string }> {
    const list: readonly AgentOperation[] = typeof ops === 'string' ? [ops] : ops;
    const what = list.join(' + ');
    // The bundle's key goes as the first line of the agent's stdin, never on its command line;
    // only to a bundle that takes one (an agent from before keys refuses the option).
    const key = (i.shippedFormat ?? KEYED_BUNDLE_FORMAT) >= KEYED_BUNDLE_FORMAT ? await this.#storedKey(session, i) : undefined;
    const log = await openInstanceLog(session.files, i.id, `${what} on ${i.target}`);
    let last = '';
    // The line before the last: an agent error ends with its hint line, which alone says too little.
    let before = '';
    let partial = '';
    let current = list[0] as AgentOperation;
    try {
      const code = await via({
        // --exit-with-stdin: the targets hold the agent's stdin open, so it stops if this command dies.
        // --mounts-dir: where rehydrate records the volumes it mounts (beside the instance
        // directories, which a new bundle replaces), for release to unmount; --keep: bundles that stay.
        args: [posix.join(i.dir, 'agent.mjs'), ...list, '--bundle', posix.join(i.dir, 'bundle'), '--exit-with-stdin', ...(key ? [KEY_STDIN_OPTION] : []), '--mounts-dir', mountsDir(i), ...keep.flatMap((b) => ['--keep', b])],
        ...(key ? { input: `${key.text()}\n` } : {}),
        timeoutMs: stepTimeout(session.opts) * list.length,
        ...(session.opts.signal ? { signal: session.opts.signal } : {}),
        onOutput: (chunk) => {
          log.write(chunk);
          const lines = (partial + chunk.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const l of lines) {
            if (l.startsWith(AGENT_STEP_MARK)) {
              current = l.slice(AGENT_STEP_MARK.length).trim() as AgentOperation;
              onStep?.(current);
            }
            else if (l.trim() !== '') {
              before = last;
              last = l;
            }
          }
        },
      });
      if (partial.trim() !== '') {
        before = last;
        last = partial;
      }
      if (/^\s*hint:/.test(last) && before !== '') last = `${before.trim()} (${last.trim()})`;
      log.write(`=== exit ${code}\n`);
      if (code !== 0 && !list.includes('ping')) {
        throw new UserError('DEPLOY_AGENT_FAILED', `${current} failed on ${i.target} (exit ${code})${last ? `: ${last}` : ''}`, { where: i.id, hint: `see the log ${session.files.logFile(i.id)}` });
      }
      return { code, lastLine: last };
    } catch (err) {
      log.write(`=== ${errorText(err)}\n`);
      throw err;
    } finally {
      await new Promise<void>((r) => log.end(r));
    }
  }

  /** Builds the bundle for `i` locally and ships it with the agent to the instance's directory. */
  #ship(session: Session, conn: TargetConnection, i: InstanceRecord, key: BundleKey): Promise<void> {
    return this.#staged(session, i, key, (stage) => conn.ship(stage, i.dir, { timeoutMs: stepTimeout(session.opts), ...(session.opts.signal ? { signal: session.opts.signal } : {}) }));
  }

  /** Builds the bundle for `i` (with the agent) in a local directory that lives while `fn` runs. */
  async #staged<T>(session: Session, i: InstanceRecord, passwordKey: BundleKey, fn: (stage: string) => Promise<T>): Promise<T> {
    if (!this.bundles) {
      throw new UserError('DEPLOY_NO_BUNDLES', 'this abctl cannot build appliance bundles (no bundle writer is installed)', {
        where: i.id,
        hint: 'use an abctl build that includes services/rehydration',
      });
    }
    const model = await this.#model(session);
    const slot = model.slots.find((s) => s.key === i.appliance);
    if (!slot) {
      throw new UserError('DEPLOY_APPLIANCE_GONE', `appliance "${i.appliance}" is no longer in assembly "${session.writer.record.assembly}"`, {
        where: i.id,
        hint: 'undeploy this deployment, or put the appliance back',
      });
    }
    await mkdir(this.layout.tmpDir, { recursive: true });
    const stage = await mkdtemp(join(this.layout.tmpDir, `deploy-${i.id}-`));
    try {
      const bundleDir = join(stage, 'bundle');
      const { agentFile } = await this.bundles.write({
        deployment: session.writer.record.name,
        assembly: model.assembly,
        plan: model.plan,
        appliance: slot.key,
        instanceIndex: i.index,
        instanceId: i.id,
        bindings: this.#bindings(session, i, model),
        outDir: bundleDir,
        passwordKey,
        ...(session.opts.signal ? { signal: session.opts.signal } : {}),
      });
      // The real writer puts the agent into the bundle: link to it rather than ship it twice.
      const inBundle = relative(bundleDir, agentFile);
      if (!inBundle.startsWith('..') && !isAbsolute(inBundle)) await symlink(join('bundle', inBundle), join(stage, 'agent.mjs'));
      else await copyFile(agentFile, join(stage, 'agent.mjs'));
      return await fn(stage);
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }

  /** The catalog key, which encrypts the bundle keys in the record: read once per command. */
  #box(session: Session): Promise<SecretBox> {
    session.box ??= SecretBox.load(this.catalog.keyFile, true).then((box) => box as SecretBox);
    return session.box;
  }

  /** The key of instance `i`'s bundle, from the record; undefined for one deployed before keys (its bundle has no encrypted values). */
  async #storedKey(session: Session, i: InstanceRecord): Promise<BundleKey | undefined> {
    const stored = session.writer.instance(i.id).bundleKey;
    if (stored === undefined) return undefined;
    const box = await this.#box(session);
    return BundleKey.parse(box.decrypt(stored, session.files.recordFile), session.files.recordFile);
  }

  /**
   * The key for the bundle about to be written: the recorded one, else a new one, whose
   * encrypted form (`record`) the caller records with its next status change, before the bundle
   * exists anywhere (a bundle whose key was lost could not be run).
   */
  async #keyToShip(session: Session, i: InstanceRecord): Promise<{ key: BundleKey; record: Partial<InstanceRecord> }> {
    const kept = await this.#storedKey(session, i);
    if (kept) return { key: kept, record: {} };
    const key = BundleKey.generate();
    // Until this ship completes, the host has at most a bundle from before keys.
    return { key, record: { bundleKey: (await this.#box(session)).encrypt(key.text()), shippedFormat: 1 } };
  }

  /** This instance and, per connected output, the instances of the peer (addresses as the record has them). */
  #bindings(session: Session, i: InstanceRecord, model: NonNullable<Session['model']>): LateBindings {
    const all = session.writer.record.instances.filter((x) => x.status !== 'removed' && x.status !== 'removing');
    const outputs: Record<string, PeerBinding[]> = {};
    for (const l of model.links.filter((x) => x.from === i.appliance)) {
      const peers = all.filter((x) => x.appliance === l.to).sort((a, b) => a.index - b.index);
      const input = peerInput(model.overlaid, l);
      (outputs[l.output] ??= []).push({
        appliance: l.to,
        input: l.input,
        external: l.external,
        hostNames: l.external ? hostFromProperties(input.properties) : peers.map((x) => x.hostname),
        addresses: l.external ? [] : peers.map((x) => x.address),
        port: input.port,
        properties: input.properties,
        ...(input.secretProperties.length ? { secretProperties: input.secretProperties } : {}),
      });
    }
    return { instance: { hostName: i.hostname, addresses: i.address ? [i.address] : [], index: i.index }, outputs };
  }

  /** Ship, rehydrate, start (or, with `stopFirst`, stop a running product before rehydrating it again). */
  async #bringUp(session: Session, i: InstanceRecord, stopFirst = false): Promise<boolean> {
    let step = 'connect';
    try {
      const conn = await this.#connect(session, i.target);
      if (conn.engine) {
        step = 'up';
        return await this.#engineUp(session, conn.engine, i);
      }
      if (i.hostname === '') {
        const id = await conn.identity();
        await session.writer.setInstance(i.id, { hostname: id.hostname, address: id.address, status: i.status });
      }
      const cur = () => session.writer.instance(i.id);
      if (stopFirst) {
        step = 'stop';
        await this.#status(session, i, 'stopping');
        await this.#agent(session, conn, cur(), 'stop');
      }
      step = 'ship';
      const shipKey = await this.#keyToShip(session, cur());
      await this.#status(session, i, 'shipping', shipKey.record);
      // One agent run for rehydrate and start; its marker line moves the record on to starting.
      let rehydrating: Promise<void> = Promise.resolve();
      let starting: Promise<void> = Promise.resolve();
      const onStep = (op: AgentOperation): void => {
        if (op !== 'start') return;
        step = 'start';
        starting = this.#status(session, i, 'starting');
      };
      try {
        const { shipAndRun } = conn;
        if (shipAndRun) {
          // Shipping and the agent in one remote command (one SSH session instead of two).
          // The agent this command runs is the one it ships, which takes the key.
          await this.#staged(session, cur(), shipKey.key, (stage) =>
            this.#agent(session, conn, { ...cur(), shippedFormat: BUNDLE_FORMAT_VERSION }, ['rehydrate', 'start'], onStep, [], (run) =>
              shipAndRun.call(conn, stage, i.dir, {
                ...run,
                shipTimeoutMs: stepTimeout(session.opts),
                onShipped: () => {
                  step = 'rehydrate';
                  rehydrating = this.#status(session, i, 'rehydrating', { shippedFormat: BUNDLE_FORMAT_VERSION });
                },
              }),
            ),
          );
        } else {
          await this.#ship(session, conn, cur(), shipKey.key);
          step = 'rehydrate';
          await this.#status(session, i, 'rehydrating', { shippedFormat: BUNDLE_FORMAT_VERSION });
          await this.#agent(session, conn, cur(), ['rehydrate', 'start'], onStep);
        }
      } finally {
        await rehydrating;
        await starting;
      }
      await this.#status(session, i, 'running');
      return true;
    } catch (err) {
      return this.#fail(session, i, step, err);
    }
  }

  /** An engine's view of instance `i`, its output going to the instance log (closed by `fn`'s end). */
  async #engineRun<T>(session: Session, i: InstanceRecord, what: string, fn: (e: EngineInstance) => Promise<T>): Promise<T> {
    const log = await openInstanceLog(session.files, i.id, `${what} on ${i.target}`);
    try {
      const r = await fn({
        deployment: session.files.name,
        deploymentDir: session.files.dir,
        id: i.id,
        appliance: i.appliance,
        index: i.index,
        ports: i.ports,
        timeoutMs: stepTimeout(session.opts),
        ...(session.opts.signal ? { signal: session.opts.signal } : {}),
        onOutput: (chunk) => log.write(chunk),
      });
      log.write(`=== ${what} done\n`);
      return r;
    } catch (err) {
      log.write(`=== ${errorText(err)}\n`);
      throw err;
    } finally {
      await new Promise<void>((r) => log.end(r));
    }
  }

  /** An engine makes the image, creates the instance with its bindings and starts it (docs/deployments.md). */
  async #engineUp(session: Session, engine: InstanceEngine, i: InstanceRecord): Promise<boolean> {
    const model = await this.#model(session);
    await this.#status(session, i, 'starting');
    const cur = session.writer.instance(i.id);
    const up = await this.#engineRun(session, cur, 'up', (e) => engine.up({ ...e, assembly: model.assembly, plan: model.plan, bindings: this.#bindings(session, cur, model) }));
    await this.#status(session, i, 'running', { hostname: up.hostname, address: up.address, ports: up.ports });
    return true;
  }

  /** Opens an existing deployment under its lock. */
  async #withDeployment<T>(name: string, command: string, opts: CommandOptions, fn: (s: Session) => Promise<T>): Promise<T> {
    const files = this.files(name);
    await requireRecord(files);
    return withDeploymentLock(files, command, async () => {
      // Read again under the lock: the holder before us may have changed it.
      const record = await requireRecord(files);
      const session: Session = { files, writer: RecordWriter.open(files, record), opts, connections: new Map(), failures: [] };
      try {
        return await fn(session);
      } finally {
        await this.#close(session);
      }
    });
  }

  #layers(record: DeploymentRecord): string[][] {
    // The order was computed at deploy time; each appliance is its own step (safe and simple).
    return record.order.map((k) => [k]);
  }

  // ------------------------------------------------------------------ operations

  async ping(name: string, opts: CommandOptions = {}): Promise<HealthRow[]> {
    const files = this.files(name);
    const record = await requireRecord(files);
    // Ping reads only: no lock, so it works while another command runs.
    const session: Session = { files, writer: RecordWriter.open(files, record), opts, connections: new Map(), failures: [] };
    const rows = new Map<string, HealthRow>();
    try {
      const active = record.instances.filter((i) => i.status !== 'removed' && i.status !== 'pending');
      await forEachBounded(active, opts.parallel ?? DEFAULT_PARALLEL, async (i) => {
        let healthy = false;
        let message = '';
        try {
          const conn = await this.#connect(session, i.target);
          const engine = conn.engine;
          const r = engine ? await this.#engineRun(session, i, 'ping', (e) => engine.ping(e)) : await this.#agent(session, conn, i, 'ping');
          healthy = r.code === 0;
          message = r.lastLine || (healthy ? 'healthy' : `ping exited ${r.code}`);
        } catch (err) {
          message = err instanceof AbError ? err.message : errorText(err);
        }
        this.#emit(session, i, healthy ? 'healthy' : 'unhealthy', message);
        rows.set(i.id, { id: i.id, appliance: i.appliance, target: i.target, hostname: i.hostname, status: i.status, healthy, message });
      });
    } finally {
      await closeAll(session.connections);
    }
    return record.instances.filter((i) => rows.has(i.id)).map((i) => rows.get(i.id) as HealthRow);
  }

  /** Stops every started instance, clients before what they connect to. */
  async stop(name: string, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.#withDeployment(name, 'stopDeployment', opts, async (s) => {
      const layers = this.#layers(s.writer.record).reverse();
      await this.#inOrder(s, layers, (i) => ['running', 'starting', 'stopping', 'failed'].includes(i.status) && i.failedStep !== 'ship' && i.failedStep !== 'connect', (i) => this.#stopOne(s, i), []);
      return outcome(s);
    });
  }

  async #stopOne(s: Session, i: InstanceRecord): Promise<boolean> {
    try {
      const conn = await this.#connect(s, i.target);
      await this.#status(s, i, 'stopping');
      const engine = conn.engine;
      if (engine) await this.#engineRun(s, s.writer.instance(i.id), 'stop', (e) => engine.stop(e));
      else await this.#agent(s, conn, s.writer.instance(i.id), 'stop');
      await this.#status(s, i, 'stopped');
      return true;
    } catch (err) {
      return this.#fail(s, i, 'stop', err);
    }
  }

  /** Starts every stopped instance, each after what it connects to. */
  async start(name: string, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.#withDeployment(name, 'startDeployment', opts, async (s) => {
      await this.#inOrder(
        s,
        this.#layers(s.writer.record),
        (i) => i.status === 'stopped' || i.status === 'running' || (i.status === 'failed' && (i.failedStep === 'start' || i.failedStep === 'stop')),
        async (i) => {
          try {
            const conn = await this.#connect(s, i.target);
            const engine = conn.engine;
            // A product recorded running may have died since (killed, crashed, host rebooted):
            // the record cannot know, so ask; only an unhealthy answer (exit 1) is started again.
            if (i.status === 'running') {
              const r = engine ? await this.#engineRun(s, i, 'ping', (e) => engine.ping(e)) : await this.#agent(s, conn, i, 'ping');
              if (r.code !== 1) return true;
            }
            await this.#status(s, i, 'starting');
            if (engine) await this.#engineRun(s, s.writer.instance(i.id), 'start', (e) => engine.start(e));
            else await this.#agent(s, conn, s.writer.instance(i.id), 'start');
            await this.#status(s, i, 'running');
            return true;
          } catch (err) {
            return this.#fail(s, i, 'start', err);
          }
        },
        await this.#linksOrNone(s),
      );
      return outcome(s);
    });
  }

  async #linksOrNone(s: Session): Promise<Link[]> {
    try {
      return (await this.#model(s)).links;
    } catch {
      return [];
    }
  }

  /**
   * Sets the number of instances of one appliance. New instances go to the plan's further
   * hosts (round-robin over the appliance's targets); the highest-numbered ones are removed
   * first. Appliances that connect to this one are rehydrated again, since their bindings
   * (e.g. a proxy's list of backends) changed.
   */
  async scale(name: string, appliance: string, count: number, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.#withDeployment(name, 'scaleAppliance', opts, async (s) => {
      const model = await this.#model(s);
      const slot = model.slots.find((x) => x.key === appliance || x.appliance.name === appliance);
      if (!slot) {
        throw new UserError('DEPLOY_APPLIANCE_UNKNOWN', `deployment "${name}" has no appliance "${appliance}"`, {
          where: s.files.dir,
          hint: `its appliances: ${model.slots.map((x) => x.key).join(', ')}`,
        });
      }
      checkCount(slot, count);
      const r = s.writer.record;
      const current = r.instances.filter((i) => i.appliance === slot.key).sort((a, b) => a.index - b.index);
      const others = r.instances.filter((i) => i.appliance !== slot.key);
      const keep = current.filter((i) => i.index <= count);
      const drop = current.filter((i) => i.index > count).reverse();
      const added: InstanceRecord[] = [];
      for (let index = 1; index <= count; index++) {
        if (!keep.some((i) => i.index === index)) added.push(this.#newInstance(name, r.targetRoot, slot, index, inputPorts(model.overlaid, slot.key)));
      }
      if (added.length > 0) await this.#checkRoots(name, added, [...others, ...keep]);
      // The bundles written again (the appliance's new instances, its clients' when anything changes) get the same chain check as deploy's.
      const clientKeys = clientsOf(slot.key, model.links);
      const warnings = added.length + drop.length === 0 ? [] : await this.#checkChains(model.slots.filter((x) => x.key === slot.key || clientKeys.includes(x.key)), r.assembly);
      // New instances may land on hosts that never ran this appliance: the requirements check
      // deploy runs, on their hosts, before anything changes.
      if (added.length > 0) await this.hostCheck?.beforeScale(model.assembly, model.plan, added.map((i) => ({ appliance: i.appliance, target: i.target })), this.#checkOptions(s.opts));
      const rank = new Map(r.instances.map((i, k) => [i.appliance, k]));
      const byPlace = (a: InstanceRecord, b: InstanceRecord) => (rank.get(a.appliance) ?? 0) - (rank.get(b.appliance) ?? 0) || a.index - b.index;
      await s.writer.setInstances([...others, ...keep, ...added, ...drop].sort(byPlace));
      const leavingIds = new Set(drop.map((i) => i.id));
      // Removed first, so that rehydrated peers no longer see them.
      await forEachBounded(drop, s.opts.parallel ?? DEFAULT_PARALLEL, async (i) => {
        await this.#removeOne(s, i, false, leavingIds);
      });
      await s.writer.setInstances(s.writer.record.instances.filter((i) => i.status !== 'removed'));
      await this.#fillIdentities(s);
      await this.#inOrder(s, [[slot.key]], (i) => i.status !== 'running', (i) => this.#bringUp(s, i));
      const clients = new Set(clientKeys);
      if (drop.length > 0 || added.length > 0) {
        const layers = s.writer.record.order.filter((k) => clients.has(k)).map((k) => [k]);
        await this.#inOrder(s, layers, (i) => i.status === 'running' || i.status === 'stopped', (i) => this.#bringUp(s, i, s.writer.instance(i.id).status === 'running'));
      }
      return { ...outcome(s), warnings };
    });
  }

  /**
   * `undeploy`: the whole deployment goes in this command (scaling down removes some instances
   * only). `leaving`: the instances of this appliance that this command removes.
   */
  async #removeOne(s: Session, i: InstanceRecord, undeploy: boolean, leaving: ReadonlySet<string>): Promise<boolean> {
    try {
      // Its host's name was never read, so nothing was shipped there (deploy reads it first):
      // nothing to remove, and a host that cannot be reached (a mistyped name) must not keep
      // the deployment from going away.
      if (i.hostname === '' && hostKey(i.target) !== undefined) {
        await this.#status(s, i, 'removed');
        return true;
      }
      const conn = await this.#connect(s, i.target);
      const engine = conn.engine;
      if (engine) {
        // The engine stops the container (SIGTERM runs the stop chain) as it removes it.
        await this.#status(s, i, 'removing');
        await this.#engineRun(s, s.writer.instance(i.id), 'remove', (e) => engine.remove(e, { undeploy }));
        await this.#status(s, i, 'removed');
        return true;
      }
      const shipped = i.status !== 'pending' && !(i.status === 'failed' && (i.failedStep === 'ship' || i.failedStep === 'connect'));
      // Bundles of the instances that stay on this host: a volume they use stays mounted.
      const keep = s.writer.record.instances
        .filter((x) => x.target === i.target && x.id !== i.id && x.status !== 'removed' && !leaving.has(x.id))
        .map((x) => posix.join(x.dir, 'bundle'));
      let released = false;
      if (shipped && i.status !== 'stopped' && i.status !== 'removing') {
        await this.#status(s, i, 'stopping');
        let op = 'stop' as AgentOperation;
        try {
          await this.#agent(s, conn, s.writer.instance(i.id), ['stop', 'release'], (o) => (op = o), keep);
          released = true;
        } catch (err) {
          // Stopped, but a volume stays mounted (busy): the removal fails, the directory stays.
          if (op === 'release') throw err;
          // A product that will not stop must not keep its files from being removed; say so in its log.
          const log = await openInstanceLog(s.files, i.id, `stop failed before removal: ${errorText(err)}`);
          log.end();
        }
      }
      await this.#status(s, i, 'removing');
      // The volumes rehydrate mounted go before the directory that says what they are; a busy
      // one fails the removal (the directory stays, so running the command again retries it).
      if (shipped && !released) await this.#agent(s, conn, s.writer.instance(i.id), 'release', undefined, keep);
      await conn.remove(i.dir, { timeoutMs: stepTimeout(s.opts) });
      await this.#status(s, i, 'removed');
      return true;
    } catch (err) {
      return this.#fail(s, i, 'remove', err);
    }
  }

  /**
   * Stops every instance (clients first), removes what deploy wrote on each host, then the
   * record. When a host cannot be reached the record stays, with those instances failed, and
   * running undeploy again finishes the job.
   */
  async undeploy(name: string, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.#withDeployment(name, 'undeploy', opts, async (s) => {
      const layers = this.#layers(s.writer.record).reverse();
      await this.#inOrder(s, layers, (i) => i.status !== 'removed', (i) => this.#removeOne(s, i, true, sameAppliance(s.writer.record, i)), []);
      const left = s.writer.record.instances.filter((i) => i.status !== 'removed');
      if (left.length === 0) {
        await s.writer.flush();
        await removeDeploymentFiles(s.files);
      }
      return outcome(s);
    });
  }
}

/** Where the agent records the volumes it mounted: beside the deployment's instance directories on the host. */
function mountsDir(i: InstanceRecord): string {
  return posix.join(posix.dirname(i.dir), '.mounts');
}

/** Undeploy removes an appliance's instances together (one layer): none of them keeps a volume for the others. */
function sameAppliance(record: DeploymentRecord, i: InstanceRecord): Set<string> {
  return new Set(record.instances.filter((x) => x.appliance === i.appliance).map((x) => x.id));
}

function summarize(record: DeploymentRecord): DeploymentSummary {
  const statuses: Partial<Record<InstanceStatus, number>> = {};
  for (const i of record.instances) statuses[i.status] = (statuses[i.status] ?? 0) + 1;
  return { record: shownRecord(record), statuses };
}

/** Where abctl keeps deployments in an instance directory (for docs and messages). */
export function deploymentsRoot(instanceRoot: string): string {
  return join(instanceRoot, 'deployments');
}

/** Closes every connection that opened. */
async function closeAll(connections: Session['connections']): Promise<void> {
  await Promise.allSettled([...connections.values()].map(async (c) => (await c).close()));
}
