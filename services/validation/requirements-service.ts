/**
 * Checks the requirements of the plugins taking part (each appliance's creator and its enabled
 * extensions) against one base: a base image before an image is written on it, or a host
 * before a plain deploy. Every call into plugin code goes through callHook; a plugin whose
 * hook throws or returns nonsense is reported as that plugin's failure, listed with every
 * other problem, so one run shows all there is to fix.
 */
import { inject, injectable } from 'inversify';
import { AbError, PluginError, UserError, errorText } from '../../core/errors.js';
import type { BaseImageRequirement, BaseImageValidationPlugin, BaseView, ValidationMessage } from '../../core/plugin-contract.js';
import type { BaseFacts, FixStyle, RequirementProblem } from '../../core/requirements/index.js';
import { evaluateRequirements, formatProblems, requirementShapeProblems } from '../../core/requirements/index.js';
import { ServiceIds } from '../../core/service-ids.js';
import { chainNames } from '../jobs/plugin-chain.js';
import { callHook } from '../plugin-hooks.js';
import { PluginInventoryService } from '../plugins/plugin-inventory-service.js';
import { PluginActivationService } from '../registry/activation.js';
import { ServiceRegistry } from '../registry/service-registry.js';

/** One appliance whose plugins' requirements apply to the base. */
export interface Participant {
  /** For messages: `minihttpd-reference`, `site/web`. */
  readonly appliance: string;
  readonly creator: string;
  /** Owners and groups of its file sets: they must exist where the files land. */
  readonly fileSets: readonly { readonly name: string; readonly owner: string; readonly group: string }[];
}

/** The base being checked: how to read it, and how its facts are gathered. */
export interface CheckSubject {
  readonly kind: 'image' | 'host';
  /** `root file system /srv/base`, `host ssh://user@h:22`. */
  readonly description: string;
  readonly view: BaseView;
  readonly fix: FixStyle;
  facts(requirements: readonly BaseImageRequirement[]): Promise<BaseFacts>;
}

export interface RequirementsReport {
  readonly kind: 'image' | 'host';
  readonly subject: string;
  readonly appliances: readonly string[];
  /** Plugins and extensions whose requirements were checked, in chain order. */
  readonly plugins: readonly string[];
  /** Requirements compared (declared ones and the file set owners). */
  readonly checked: number;
  readonly problems: readonly RequirementProblem[];
  /** Plugins whose hook failed; their failures are among `problems`. */
  readonly failedPlugins: readonly string[];
}

/** The requirements the plugins of some appliances declare, before anything is compared. */
export interface DeclaredRequirements {
  /** Plugins and extensions taking part, in chain order. */
  readonly chain: readonly string[];
  /** Per plugin (and `abctl` for the file set owners), what it requires. */
  readonly byPlugin: ReadonlyMap<string, readonly BaseImageRequirement[]>;
  /** Found while asking: plugins not enabled (warnings), hooks that failed (errors). */
  readonly problems: RequirementProblem[];
  /** Plugins whose hook failed; `fail` adds to it. */
  readonly failedPlugins: ReadonlySet<string>;
  /** The plugins' check services, for their own validateBase. */
  readonly services: readonly { readonly owner: string; readonly service: BaseImageValidationPlugin }[];
  /** Records a plugin's hook failure among `problems`. */
  readonly fail: (plugin: string, hook: string, found: string) => void;
}

export interface CheckOptions {
  readonly signal?: AbortSignal;
}

const FRAMEWORK = 'abctl';

/** What the user reads: every problem of every report, errors first, under its subject. */
export function describeReports(reports: readonly RequirementsReport[]): string {
  return reports
    .filter((r) => r.problems.length > 0)
    .map((r) => `${r.subject} (${r.appliances.join(', ')}):\n${formatProblems(r.problems).map((l) => `  ${l}`).join('\n')}`)
    .join('\n');
}

/**
 * The refusal when any report has an error: that plugin's error when a plugin's own check
 * failed (its fault, not the base's), otherwise a user error; both list every problem.
 */
export function refusal(reports: readonly RequirementsReport[], retry: string): AbError | undefined {
  const errors = reports.flatMap((r) => r.problems.filter((p) => p.severity === 'error'));
  if (errors.length === 0) return undefined;
  const subjects = reports.filter((r) => r.problems.some((p) => p.severity === 'error')).map((r) => r.subject);
  const message = `${subjects.join(' and ')} ${subjects.length > 1 ? 'do' : 'does'} not meet the requirements of the plugins (${errors.length} error${errors.length > 1 ? 's' : ''}):\n${describeReports(reports)}`;
  const failed = reports.flatMap((r) => r.failedPlugins)[0];
  if (failed !== undefined) {
    return new PluginError(failed, 'REQUIREMENTS_CHECK_FAILED', message, { hint: `the requirement check of plugin ${failed} failed: fix or update the plugin, then ${retry}` });
  }
  return new UserError('REQUIREMENTS_UNMET', message, { where: subjects[0], hint: `fix each error as its "fix:" line says, then ${retry}` });
}

/** What createTemplate and deploy do with the reports: refuse on an error, else show the warnings. */
export function enforce(reports: readonly RequirementsReport[], retry: string, warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): void {
  const err = refusal(reports, retry);
  if (err) throw err;
  for (const r of reports) for (const line of formatProblems(r.problems)) warn(`${r.subject}: ${line}`);
}

@injectable()
export class RequirementsService {
  constructor(
    @inject(PluginInventoryService) private readonly plugins: PluginInventoryService,
    @inject(ServiceRegistry) private readonly registry: ServiceRegistry,
    @inject(PluginActivationService) private readonly activation: PluginActivationService,
  ) {}

  /**
   * Runs `fn` with the plugins started: a command that did not start them (deploy builds
   * bundles from plugin files only) gets them started here and stopped afterwards.
   */
  async withPlugins<T>(fn: () => Promise<T>): Promise<T> {
    if (this.activation.activePlugins().length > 0) return fn();
    this.plugins.recordActivation(await this.activation.activate(await this.plugins.get()));
    try {
      return await fn();
    } finally {
      for (const f of await this.activation.stopAll()) process.stderr.write(`warning: ${f.message}\n`);
    }
  }

  /**
   * What the participants' plugins declare (grouped by plugin, `abctl` for the file set owners),
   * with the problems found on the way: a plugin not enabled, a hook that failed or returned
   * nonsense. `check` compares these with a base; createBase builds a base from them.
   */
  async declared(participants: readonly Participant[], opts: CheckOptions = {}): Promise<DeclaredRequirements> {
    const inventory = await this.plugins.get();
    const problems: RequirementProblem[] = [];
    const failed = new Set<string>();
    const chain: string[] = [];
    for (const p of participants) {
      const names = chainNames(inventory, p.creator, `the requirements check of appliance "${p.appliance}"`);
      if (names.length === 0) {
        problems.push({ plugin: p.creator, severity: 'warning', requirement: 'its requirements', found: `plugin ${p.creator}, which created ${p.appliance}, is not enabled, so they were not checked`, fix: `abctl enablePlugin --name ${p.creator}` });
      }
      for (const n of names) if (!chain.includes(n)) chain.push(n);
    }
    const fail = (plugin: string, hook: string, found: string): void => {
      failed.add(plugin);
      problems.push({ plugin, severity: 'error', requirement: `its ${hook}()`, found, fix: `a fault of plugin ${plugin}: fix or update it` });
    };

    const services = this.registry
      .createCollector()
      .getServicesWithOwner(ServiceIds.BaseImageValidationPlugin)
      .filter((s) => chain.includes(s.owner))
      .sort((a, b) => chain.indexOf(a.owner) - chain.indexOf(b.owner));
    const byPlugin = new Map<string, BaseImageRequirement[]>();
    const add = (plugin: string, list: readonly BaseImageRequirement[]): void => {
      byPlugin.set(plugin, [...(byPlugin.get(plugin) ?? []), ...list]);
    };
    // The file sets land with these owners: abctl itself requires them, for the creator's product.
    for (const p of participants) {
      for (const fs of p.fileSets) {
        const reason = `file set ${fs.name} of ${p.appliance} is owned by ${fs.owner}:${fs.group}`;
        const list: BaseImageRequirement[] = [];
        if (!/^\d+$/.test(fs.owner)) list.push({ kind: 'user', name: fs.owner, message: reason });
        if (!/^\d+$/.test(fs.group)) list.push({ kind: 'group', name: fs.group, message: reason });
        add(FRAMEWORK, list);
      }
    }
    for (const { owner, service } of services) {
      if (typeof service.baseImageRequirements !== 'function') continue;
      let list: unknown;
      try {
        list = await callHook({ plugin: owner, hook: 'baseImageRequirements', signal: opts.signal }, () => (service.baseImageRequirements as () => unknown).call(service));
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        fail(owner, 'baseImageRequirements', errorText(err));
        continue;
      }
      const shape = requirementShapeProblems(list);
      if (shape.length > 0) fail(owner, 'baseImageRequirements', `it returned requirements abctl cannot check: ${shape.join('; ')}`);
      else add(owner, list as BaseImageRequirement[]);
    }
    return { chain, byPlugin, problems, failedPlugins: failed, services, fail };
  }

  async check(subject: CheckSubject, participants: readonly Participant[], opts: CheckOptions = {}): Promise<RequirementsReport> {
    const { chain, byPlugin, problems, failedPlugins, services, fail } = await this.declared(participants, opts);
    const all = [...byPlugin.values()].flat();
    const facts = await subject.facts(all);
    for (const [plugin, list] of byPlugin) problems.push(...evaluateRequirements(plugin, list, facts, subject.fix));
    for (const { owner, service } of services) {
      if (typeof service.validateBase === 'function') problems.push(...(await this.#custom(owner, service, subject.view, opts, fail)));
    }
    return {
      kind: subject.kind,
      subject: subject.description,
      appliances: participants.map((p) => p.appliance),
      plugins: chain,
      checked: all.length,
      problems,
      // Read after the plugins' own checks: a failing validateBase adds its plugin.
      failedPlugins: [...failedPlugins],
    };
  }

  /** A plugin's own check; what it returns is validated like everything a plugin hands over. */
  async #custom(plugin: string, service: BaseImageValidationPlugin, view: BaseView, opts: CheckOptions, fail: (p: string, h: string, f: string) => void): Promise<RequirementProblem[]> {
    let messages: unknown;
    try {
      messages = await callHook({ plugin, hook: 'validateBase', signal: opts.signal }, () => (service.validateBase as (b: BaseView) => unknown).call(service, view));
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      fail(plugin, 'validateBase', errorText(err));
      return [];
    }
    const valid = (m: unknown): m is ValidationMessage =>
      typeof m === 'object' && m !== null && ((m as ValidationMessage).severity === 'warning' || (m as ValidationMessage).severity === 'rejection') && typeof (m as ValidationMessage).message === 'string';
    if (!Array.isArray(messages) || !messages.every(valid)) {
      fail(plugin, 'validateBase', `it must return an array of { severity: 'warning' | 'rejection', message: string }, not ${JSON.stringify(messages)?.slice(0, 200)}`);
      return [];
    }
    return messages.map((m) => ({ plugin, severity: m.severity === 'rejection' ? 'error' : 'warning', requirement: 'its own check', found: m.message }));
  }
}
