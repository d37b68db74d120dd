/**
 * Plan files on disk: writing a new plan for a catalog assembly, validating one, and
 * setting a password in one. The plan logic itself is pure (core/deployment-plan); this
 * adds the catalog, the instance key and the files.
 *
 * Passwords: a plan holds them encrypted with the instance's catalog key (the same
 * AES-GCM key the catalog uses), so a plan is only readable by the instance that made it;
 * a password without a value is written blank with a comment naming setPlanPassword.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { TextDecoder } from 'node:util';
import { dirname, resolve } from 'node:path';
import { inject, injectable } from 'inversify';
import writeFileAtomic from 'write-file-atomic';
import { environmentError, UserError } from '../../core/errors.js';
import { Appliance, Assembly, AtomicAssembly } from '../../core/metadata/index.js';
import type { TemplateSource } from '../../core/templates/index.js';
import { catalogOwner } from '../rehydration/bundle.js';
import {
  createDeploymentPlan,
  formatPlan,
  MAX_PLAN_BYTES,
  planTooLarge,
  PlanReader,
  setPlanPassword,
  validateDeploymentPlan,
  type DeploymentPlan,
  type PlanProblem,
  type SecretCodec,
} from '../../core/deployment-plan/index.js';
import { Catalog } from '../../catalog/index.js';
import { SecretBox, isEncrypted } from '../../catalog/secrets.js';

export interface PlanValidation {
  readonly file: string;
  readonly assembly: string;
  readonly problems: readonly PlanProblem[];
}

function codec(box: SecretBox): SecretCodec {
  return { encrypt: (c) => box.encrypt(c), decrypt: (s, where) => box.decrypt(s, where), isEncrypted };
}

/** Atomic, 0600 (it may hold encrypted passwords); a failed write (a full disk says no path) names the plan file. */
async function writePlan(path: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(path, text, { mode: 0o600 });
  } catch (err) {
    throw environmentError(err, path) ?? err;
  }
}

/** Strict UTF-8: a byte sequence that does not decode is refused, not turned into U+FFFD. */
function decodePlan(decoder: TextDecoder, chunk: Buffer | undefined, file: string, stream: boolean): string {
  try {
    return decoder.decode(chunk, { stream });
  } catch {
    throw new UserError('PLAN_INVALID', 'the plan file is not valid UTF-8', { where: file, hint: 'save the plan as UTF-8, or write a fresh one with abctl createDeploymentPlan' });
  }
}

function hasPasswordValues(plan: DeploymentPlan): boolean {
  const walk = (n: DeploymentPlan['root']): boolean => n.properties.some((p) => p.type === 'password' && p.value !== undefined) || n.children.some(walk);
  return walk(plan.root);
}

@injectable()
export class DeploymentPlanService {
  readonly #archivesChecked = new Set<string>();

  constructor(@inject(Catalog) private readonly catalog: Catalog) {}

  async #deployable(name: string): Promise<Assembly> {
    if (!(await this.catalog.hasAssembly(name))) {
      const isAppliance = await this.catalog.hasAppliance(name);
      throw new UserError('NOT_DEPLOYABLE', isAppliance ? `"${name}" is an appliance; only a top-level assembly has a deployment plan` : `there is no assembly "${name}" in the catalog`, {
        where: `assembly "${name}"`,
        hint: isAppliance ? `create an assembly, add "${name}" to it (abctl addToAssembly) and make the plan for the assembly` : 'see the assemblies with abctl describeAssemblies',
      });
    }
    const a = await this.catalog.getAssembly(name);
    if (a instanceof AtomicAssembly) {
      throw new UserError('NOT_DEPLOYABLE', `"${name}" is an atomic assembly; only a (non-atomic) top-level assembly has a deployment plan`, {
        where: a.where,
        hint: `create an assembly, add "${name}" to it with abctl addToAssembly and make the plan for that assembly`,
      });
    }
    return a;
  }

  /**
   * Refuses an assembly whose captured archives are missing or damaged (hashed against
   * their records): a plan for it could not be deployed.
   */
  async #usableArchives(assembly: string): Promise<void> {
    // createDeploymentPlan validates the plan it wrote: hash the (possibly large) archives once per command.
    if (this.#archivesChecked.has(assembly)) return;
    const problems = await this.catalog.archiveProblems(assembly);
    const [first] = problems;
    if (!first) {
      this.#archivesChecked.add(assembly);
      return;
    }
    if (problems.length === 1) throw new UserError(first.code, first.message, { where: first.file, ...(first.hint ? { hint: first.hint } : {}) });
    throw new UserError('ARCHIVES_UNUSABLE', `${problems.length} captured archives of assembly "${assembly}" cannot be used:\n${problems.map((p) => `  ${p.file}: ${p.message}\n    ${p.hint ?? ''}`).join('\n')}`, {
      where: `assembly "${assembly}"`,
      hint: 'capture those file sets again as each line says, then run this command again (abctl verifyCatalog checks the whole catalog)',
    });
  }

  async #box(create: boolean): Promise<SecretBox | undefined> {
    return SecretBox.load(this.catalog.keyFile, create);
  }

  /** Builds the plan for `assembly` and writes it to `file` (refused if it exists, unless `force`). */
  async create(assembly: string, file: string, opts: { force?: boolean } = {}): Promise<DeploymentPlan> {
    const a = await this.#deployable(assembly);
    await this.#usableArchives(assembly);
    const plan = createDeploymentPlan(a);
    const out = resolve(file);
    if (!opts.force && existsSync(out)) {
      throw new UserError('PLAN_EXISTS', 'the plan file already exists; it is not overwritten', { where: out, hint: 'give another --out, or add --force to replace it' });
    }
    const box = hasPasswordValues(plan) ? await this.#box(false) : undefined;
    const text = formatPlan(plan, { file, ...(box ? { secrets: codec(box) } : {}) });
    await writePlan(out, text);
    return plan;
  }

  /**
   * Streams the plan file into the parser: its size is checked first, the text is decoded as
   * strict UTF-8 and parsed piece by piece, so an oversized or hostile file is refused
   * before it is held in memory.
   */
  async #read(file: string): Promise<DeploymentPlan> {
    const path = resolve(file);
    const unreadable = (err: unknown) =>
      new UserError('PLAN_UNREADABLE', `cannot read the plan file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
        where: path,
        hint: 'check the path, or write a plan with abctl createDeploymentPlan',
      });
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      throw unreadable(err);
    }
    if (size > MAX_PLAN_BYTES) throw planTooLarge(size, file);
    const box = await this.#box(false);
    const reader = new PlanReader(file, box ? { secrets: codec(box) } : {});
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let read = 0;
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 2 ** 16 })) {
        read += (chunk as Buffer).length;
        // The file may grow after the stat.
        if (read > MAX_PLAN_BYTES) throw planTooLarge(read, file);
        reader.write(decodePlan(decoder, chunk as Buffer, file, true));
      }
      reader.write(decodePlan(decoder, undefined, file, false));
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw unreadable(err);
    }
    return reader.finish();
  }

  /** Every problem of the plan in `file` for `assembly` (empty: usable). */
  async validate(assembly: string, file: string, opts: { requireHosts?: boolean } = {}): Promise<PlanValidation> {
    const { problems } = await this.load(assembly, file, opts);
    return { file, assembly, problems };
  }

  /** The assembly, the plan read from `file` (passwords decrypted) and its problems; deploy needs all three. */
  async load(assembly: string, file: string, opts: { requireHosts?: boolean } = {}): Promise<PlanValidation & { model: Assembly; plan: DeploymentPlan }> {
    const a = await this.#deployable(assembly);
    await this.#usableArchives(assembly);
    const plan = await this.#read(file);
    const base = dirname(resolve(file));
    const problems = validateDeploymentPlan(a, plan, {
      requireHosts: opts.requireHosts ?? false,
      templates: await this.#templates(a),
      fileExists: (p) => {
        try {
          return statSync(resolve(base, p)).isFile();
        } catch {
          return false;
        }
      },
    });
    return { file, assembly, problems, model: a, plan };
  }

  /**
   * The template content resources of every appliance of `assembly`, by object path, for plan
   * validation: read from where the bundle writer will read them (`catalogOwner`), so the plan
   * is checked against what deploy ships. Templates found nowhere are left to the bundle
   * writer, which names them.
   */
  async #templates(assembly: Assembly): Promise<Map<string, TemplateSource[]>> {
    const out = new Map<string, TemplateSource[]>();
    const visit = async (m: Assembly | AtomicAssembly, prefix: string): Promise<void> => {
      for (const x of m instanceof Assembly ? m.members : m.appliances) {
        const path = `${prefix}${x.name}`;
        if (x instanceof Assembly || x instanceof AtomicAssembly) await visit(x, `${path}/`);
        if (!(x instanceof Appliance)) continue;
        const names = x.contentResources.filter((r) => r.template).map((r) => r.name);
        if (names.length === 0) continue;
        const owner = await catalogOwner({ catalog: this.catalog, assembly }, x, path, undefined).catch((err: unknown) => {
          if (err instanceof UserError && err.code === 'BUNDLE_CONTENT_MISSING') return undefined;
          throw err;
        });
        if (owner) out.set(path, await Promise.all(names.map(async (name) => ({ name, text: (await this.catalog.readContent(owner.content, name)).toString('utf8') }))));
      }
    };
    await visit(assembly, '');
    return out;
  }

  /** Sets a password in the plan file, encrypted with the instance key. */
  async setPassword(assembly: string, file: string, path: string, property: string, value: string): Promise<void> {
    const a = await this.#deployable(assembly);
    const plan = await this.#read(file);
    const next = setPlanPassword(plan, a, path, property, value);
    const box = await this.#box(true);
    if (!box) throw new Error('internal error: catalog key not created');
    await writePlan(resolve(file), formatPlan(next, { file, secrets: codec(box) }));
  }
}
