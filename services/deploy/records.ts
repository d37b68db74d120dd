/**
 * Deployment records: `<instance>/deployments/<name>/` holds `deployment.json` (what was
 * deployed where, each instance's status and its bundle key, encrypted), `plan.xml` (the plan
 * used, passwords still encrypted) and `logs/<instance>.log`. deployment.json is replaced atomically on every
 * change (write-file-atomic, as the catalog does), so another process reads a whole record
 * at any moment, and a killed deploy leaves the last consistent one.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { UserError } from '../../core/errors.js';
import { checkObjectName } from '../../core/metadata/index.js';

/** Format 2 added each instance's bundleKey; format 1 records (no keys: bundles with clear password values) are still read. */
export const RECORD_FORMAT_VERSION = 2;
const READABLE_FORMATS: readonly number[] = [1, RECORD_FORMAT_VERSION];
export const RECORD_FILE = 'deployment.json';

/**
 * An instance's life: pending -> shipping -> rehydrating -> starting -> running;
 * stopping -> stopped; failed from any step (the step is kept); removed after undeploy.
 * Resume redoes every instance that is not `running`.
 */
export const INSTANCE_STATUSES = ['pending', 'shipping', 'rehydrating', 'starting', 'running', 'stopping', 'stopped', 'failed', 'removing', 'removed'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export interface InstancePort {
  readonly input: string;
  readonly port: number;
}

export interface InstanceRecord {
  /** `<appliance>-<index>`, unique in the deployment. */
  readonly id: string;
  readonly appliance: string;
  /** Member names from the assembly down to the appliance. */
  readonly path: readonly string[];
  /** 1-based. */
  readonly index: number;
  /** The plan's target text: `local` or `ssh://user@host:port`. */
  readonly target: string;
  readonly hostname: string;
  readonly address: string;
  /** Directory on the host holding the bundle and the agent. */
  readonly dir: string;
  readonly ports: readonly InstancePort[];
  /**
   * Roots of the appliance's own local file sets, which the instance writes on its host: no
   * other instance on that host may write them (services/deploy/root-conflicts.ts).
   * Absent in records written before it was kept.
   */
  readonly roots?: readonly string[];
  /**
   * The key the password values of the instance's bundle are encrypted with
   * (services/rehydration/bundle-key.ts), itself encrypted with the instance directory's
   * catalog key (`enc:v1:...`). Made before its first bundle is written, kept for the
   * instance's life. Absent: deployed before bundles were encrypted (format 1).
   */
  readonly bundleKey?: string;
  /**
   * The format of the bundle the last completed ship put on the host (bundle-format.ts), so that
   * the key goes only to an agent that takes it: an instance deployed before keys whose first
   * ship with a key failed still has the old agent. 1 is recorded with a new key (until that
   * ship completes). Absent with a key: a record of the abctl that shipped each key with its
   * bundle before this field existed, so the host's bundle takes it.
   */
  readonly shippedFormat?: number;
  readonly status: InstanceStatus;
  /** For `failed`: the step that failed and why. */
  readonly failedStep?: string;
  readonly error?: string;
  readonly updatedAt: string;
}

export interface DeploymentRecord {
  readonly formatVersion: number;
  readonly name: string;
  readonly assembly: string;
  /** Where the plan came from (informational); the copy used is plan.xml beside the record. */
  readonly planSource: string;
  /** Directory under which each host keeps this deployment's instances. */
  readonly targetRoot: string;
  /** Appliance names in start order: each after everything it connects to. */
  readonly order: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly instances: readonly InstanceRecord[];
}

export function deploymentsDir(instanceRoot: string): string {
  return join(instanceRoot, 'deployments');
}

export function checkDeploymentName(name: string): void {
  // The appliance name rules, so that the name is also a safe directory name.
  checkObjectName('deployment', name, name);
  if (name === '.' || name === '..' || name.startsWith('.')) {
    throw new UserError('DEPLOYMENT_NAME_INVALID', `deployment name "${name}" may not start with a dot`, { where: name, hint: 'choose a name starting with a letter or digit' });
  }
}

export class DeploymentFiles {
  readonly dir: string;
  constructor(
    readonly instanceRoot: string,
    readonly name: string,
  ) {
    checkDeploymentName(name);
    this.dir = join(deploymentsDir(instanceRoot), name);
  }
  get recordFile(): string {
    return join(this.dir, RECORD_FILE);
  }
  get planFile(): string {
    return join(this.dir, 'plan.xml');
  }
  get logsDir(): string {
    return join(this.dir, 'logs');
  }
  logFile(instanceId: string): string {
    return join(this.logsDir, `${instanceId}.log`);
  }
}

function damaged(file: string, why: string): UserError {
  return new UserError('DEPLOYMENT_RECORD_DAMAGED', `the deployment record cannot be read: ${why}`, {
    where: file,
    hint: 'it is written atomically, so this is damage from outside abctl; restore it from a backup or remove the deployment directory (the instances then have to be removed by hand)',
  });
}

/** The record, or undefined when there is no such deployment. */
export async function readRecord(files: DeploymentFiles): Promise<DeploymentRecord | undefined> {
  let text: string;
  try {
    text = await readFile(files.recordFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw damaged(files.recordFile, (err as Error).message);
  }
  const r = value as Partial<DeploymentRecord>;
  if (typeof r !== 'object' || r === null || !Array.isArray(r.instances) || typeof r.name !== 'string') throw damaged(files.recordFile, 'it is not a deployment record');
  if (typeof r.formatVersion !== 'number' || !READABLE_FORMATS.includes(r.formatVersion)) {
    throw new UserError('DEPLOYMENT_RECORD_VERSION', `the record has format ${String(r.formatVersion)}; this abctl reads formats ${READABLE_FORMATS.join(', ')}`, {
      where: files.recordFile,
      hint: 'use the abctl version that made this deployment',
    });
  }
  return r as DeploymentRecord;
}

/** The record as commands show it: the bundle keys are nobody's business, even encrypted. */
export function shownRecord(record: DeploymentRecord): DeploymentRecord {
  return { ...record, instances: record.instances.map(({ bundleKey: _key, ...rest }) => rest) };
}

export async function requireRecord(files: DeploymentFiles): Promise<DeploymentRecord> {
  const r = await readRecord(files);
  if (!r) {
    throw new UserError('DEPLOYMENT_UNKNOWN', `there is no deployment "${files.name}"`, { where: files.dir, hint: 'see the deployments with abctl describeDeployments' });
  }
  return r;
}

/** Names of the recorded deployments, sorted. */
export async function listDeployments(instanceRoot: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(deploymentsDir(instanceRoot));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const n of names.sort()) {
    if (n.startsWith('.')) continue;
    try {
      await readFile(join(deploymentsDir(instanceRoot), n, RECORD_FILE));
      out.push(n);
    } catch {
      // A directory without a record: a deploy that died before its first write.
    }
  }
  return out;
}

/**
 * The record held by the command that owns the deployment lock. Every change goes through
 * `update`, which writes the whole record atomically; writes are queued so that parallel
 * instances never write an older state over a newer one.
 */
export class RecordWriter {
  #record: DeploymentRecord;
  #queue: Promise<void> = Promise.resolve();
  /** The queued write that has not started yet, if any. */
  #waiting: Promise<void> | undefined;

  private constructor(
    readonly files: DeploymentFiles,
    record: DeploymentRecord,
  ) {
    // A format 1 record is written back as the current format (what it lacks is optional).
    this.#record = { ...record, formatVersion: RECORD_FORMAT_VERSION };
  }

  static async create(files: DeploymentFiles, record: DeploymentRecord): Promise<RecordWriter> {
    await mkdir(files.logsDir, { recursive: true });
    const w = new RecordWriter(files, record);
    await w.#write();
    return w;
  }

  static open(files: DeploymentFiles, record: DeploymentRecord): RecordWriter {
    return new RecordWriter(files, record);
  }

  get record(): DeploymentRecord {
    return this.#record;
  }

  instance(id: string): InstanceRecord {
    const i = this.#record.instances.find((x) => x.id === id);
    if (!i) throw new Error(`internal error: no instance ${id} in deployment ${this.#record.name}`);
    return i;
  }

  /**
   * Changes that come while a write is waiting share it: it writes the record as it is when
   * it starts. Parallel instances change the record several times per step, and each atomic
   * write (with fsync) costs milliseconds, so one write per change would queue them all.
   */
  #write(): Promise<void> {
    if (this.#waiting) return this.#waiting;
    const next = this.#queue.then(() => {
      this.#waiting = undefined;
      return writeFileAtomic(this.files.recordFile, `${JSON.stringify(this.#record, null, 2)}\n`, { mode: 0o600 });
    });
    this.#waiting = next;
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Replaces one instance's fields (status changes stamp updatedAt). */
  setInstance(id: string, change: Partial<Omit<InstanceRecord, 'id'>>): Promise<void> {
    const now = new Date().toISOString();
    const instances = this.#record.instances.map((i) => {
      if (i.id !== id) return i;
      const next: InstanceRecord = { ...i, ...change, updatedAt: now };
      if (change.status && change.status !== 'failed') {
        // A status other than failed clears the last failure.
        const { failedStep: _s, error: _e, ...rest } = next;
        return rest;
      }
      return next;
    });
    this.#record = { ...this.#record, instances, updatedAt: now };
    return this.#write();
  }

  setInstances(instances: readonly InstanceRecord[], extra: Partial<Pick<DeploymentRecord, 'order' | 'planSource'>> = {}): Promise<void> {
    this.#record = { ...this.#record, ...extra, instances, updatedAt: new Date().toISOString() };
    return this.#write();
  }

  flush(): Promise<void> {
    return this.#queue;
  }
}

/** Appends to an instance's log; each command run starts with a header line. */
export async function openInstanceLog(files: DeploymentFiles, instanceId: string, header: string): Promise<WriteStream> {
  await mkdir(files.logsDir, { recursive: true });
  const stream = createWriteStream(files.logFile(instanceId), { flags: 'a', mode: 0o600 });
  stream.write(`\n=== ${new Date().toISOString()} ${header}\n`);
  return stream;
}

/** The last `lines` lines of an instance's log (for failure reports). */
export async function logTail(files: DeploymentFiles, instanceId: string, lines = 15): Promise<string> {
  const file = files.logFile(instanceId);
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, 16 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    return buf.toString('utf8').split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
  } finally {
    await fh.close();
  }
}

/**
 * The deployment lock's own files (lock.ts). Undeploy runs under that lock, so it must not delete
 * them: the lock's refresh timer would find its file gone and count the lock as lost.
 */
export const LOCK_FILE = '.lock';
export const LOCK_OWNER_FILE = '.lock-owner.json';

/** Everything of a deployment but its lock, whose release then removes the emptied directory. */
export async function removeDeploymentFiles(files: DeploymentFiles): Promise<void> {
  let names: string[];
  try {
    names = await readdir(files.dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const keep = new Set([LOCK_FILE, LOCK_OWNER_FILE]);
  await Promise.all(names.filter((n) => !keep.has(n)).map((n) => rm(join(files.dir, n), { recursive: true, force: true })));
}
