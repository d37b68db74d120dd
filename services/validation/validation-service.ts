/**
 * The checks users and other commands run: a catalog appliance's plugins against a base image
 * (`validateBase`, and `createTemplate` before it writes anything), and an assembly's plugins
 * against every target host of a deployment plan (`validateHost`, and `deploy` before it
 * ships anything).
 */
import { inject, injectable } from 'inversify';
import { Catalog } from '../../catalog/catalog.js';
import { describePlanProblem, resolveObjectPath, type DeploymentPlan } from '../../core/deployment-plan/index.js';
import { UserError, errorText } from '../../core/errors.js';
import { Appliance, AtomicAssembly, Assembly as AssemblyClass, type Assembly, type AssemblyMember } from '../../core/metadata/index.js';
import type { BaseImageRequirement } from '../../core/plugin-contract.js';
import { PluginInventoryService } from '../plugins/plugin-inventory-service.js';
import { appliancesOf, placeInstance, plannedCount, type ApplianceSlot } from '../deploy/topology.js';
import { DeploymentPlanService } from '../editing/deployment-plans.js';
import { ReferenceHostFactory } from '../host/connect.js';
import { RootFsDir, baseFilesOf, type BaseFiles, type OpenedBase } from './base-files.js';
import type { HostCheckOptions, HostRequirementsCheck } from './port.js';
import { RequirementsService, enforce, type CheckOptions, type Participant, type RequirementsReport } from './requirements-service.js';
import { hostSubject, imageSubject } from './subjects.js';

export interface HostReports {
  readonly reports: readonly RequirementsReport[];
  /** Targets that are not hosts (engines): their images are checked when they are made. */
  readonly skipped: readonly { readonly target: string; readonly why: string }[];
}

function participant(appliance: Appliance, label: string): Participant {
  return { appliance: label, creator: appliance.creator, fileSets: appliance.fileSets.map((f) => ({ name: f.name, owner: f.owner, group: f.group })) };
}

const isHostSpec = (spec: string): boolean => spec === 'local' || spec.startsWith('ssh://');

@injectable()
export class ValidationService implements HostRequirementsCheck {
  constructor(
    @inject(RequirementsService) private readonly requirements: RequirementsService,
    @inject(Catalog) private readonly catalog: Catalog,
    @inject(DeploymentPlanService) private readonly plans: DeploymentPlanService,
    @inject(ReferenceHostFactory) private readonly hosts: ReferenceHostFactory,
    @inject(PluginInventoryService) private readonly inventory: PluginInventoryService,
  ) {}

  /** Every appliance of an assembly, in atomic and sub-assemblies too: what one base serves for a whole deployment. */
  async participantsOfAssembly(name: string): Promise<Participant[]> {
    const out: Participant[] = [];
    const walk = (m: AssemblyMember, path: string): void => {
      if (m instanceof Appliance) out.push(participant(m, path));
      else if (m instanceof AtomicAssembly) for (const a of m.appliances) walk(a, `${path}/${a.name}`);
      else if (m instanceof AssemblyClass) for (const x of m.members) walk(x, `${path}/${x.name}`);
    };
    const assembly = await this.catalog.getAssembly(name);
    if (assembly instanceof AtomicAssembly) for (const a of assembly.appliances) walk(a, `${name}/${a.name}`);
    else for (const m of assembly.members) walk(m, `${name}/${m.name}`);
    return out;
  }

  /** Plugins named on their own (createBase --plugin): each one's chain, without file sets. */
  async participantsOfPlugins(names: readonly string[]): Promise<Participant[]> {
    const inventory = await this.inventory.get();
    for (const n of names) {
      if (!inventory.records.has(n)) throw new UserError('PLUGIN_UNKNOWN', `no plugin named ${n}`, { where: n, hint: 'abctl describePlugins lists the plugins' });
    }
    return names.map((n) => ({ appliance: `plugin ${n}`, creator: n, fileSets: [] }));
  }

  /**
   * Everything the participants' plugins require of a base (file set owners included), refused
   * when a plugin's hook failed: a base cannot be made to fit requirements that are not known.
   */
  async declaredRequirements(participants: readonly Participant[], opts: CheckOptions & { warn?: (line: string) => void } = {}): Promise<BaseImageRequirement[]> {
    return this.requirements.withPlugins(async () => {
      const d = await this.requirements.declared(participants, opts);
      const report: RequirementsReport = { kind: 'image', subject: 'the plugins', appliances: participants.map((p) => p.appliance), plugins: d.chain, checked: 0, problems: d.problems, failedPlugins: [...d.failedPlugins] };
      enforce([report], 'make the base again', opts.warn);
      return [...d.byPlugin.values()].flat();
    });
  }

  /**
   * createBase's last step: the root file system it made (still at `dir`) against the same
   * requirements createTemplate checks, reported as the directory `out` it is about to become.
   */
  async checkNewBase(participants: readonly Participant[], dir: string, out: string, opts: CheckOptions & { warn?: (line: string) => void } = {}): Promise<RequirementsReport> {
    const rootfs = await RootFsDir.open(dir);
    const files: BaseFiles = { description: `root file system ${out}`, readFile: (p) => rootfs.readFile(p), fix: (command) => `chroot ${out} ${command}` };
    const report = await this.checkBase(participants, files, opts);
    enforce([report], 'make the base again', opts.warn);
    return report;
  }

  /**
   * The appliances an image would be made of: a catalog appliance or every member of an atomic
   * assembly; with `assembly`, the member at that path (an appliance, or an atomic assembly's members).
   */
  async participantsOf(name: string, assembly?: string): Promise<Participant[]> {
    if (assembly !== undefined) {
      const found = resolveObjectPath(await this.catalog.getAssembly(assembly), name);
      if (found.holder instanceof Appliance && !found.path.part) return [participant(found.holder, `${assembly}/${name}`)];
      if (found.holder instanceof AtomicAssembly) return found.holder.appliances.map((x) => participant(x, `${assembly}/${name}/${x.name}`));
      throw new UserError('APPLIANCE_UNKNOWN', `"${name}" in assembly "${assembly}" is neither an appliance nor an atomic assembly`, { where: found.where, hint: 'name an appliance or an atomic assembly of it' });
    }
    if (await this.catalog.hasAppliance(name)) return [participant(await this.catalog.getAppliance(name), name)];
    if (await this.catalog.hasAssembly(name)) {
      const a = await this.catalog.getAssembly(name);
      if (a instanceof AtomicAssembly) return a.appliances.map((x) => participant(x, `${name}/${x.name}`));
    }
    throw new UserError('APPLIANCE_UNKNOWN', `the catalog has no appliance or atomic assembly named "${name}"`, { hint: 'abctl describeAppliances lists them; for a member of an assembly add --assembly NAME' });
  }

  /** The requirements of `participants`' plugins against a base image's files. */
  checkBase(participants: readonly Participant[], base: BaseFiles, opts: CheckOptions = {}): Promise<RequirementsReport> {
    return this.requirements.withPlugins(() => this.requirements.check(imageSubject(base), participants, opts));
  }

  /**
   * createTemplate's check, before it writes an image: refuses (listing every problem) when
   * the base lacks what a plugin of the appliances requires; shows the warnings.
   */
  async beforeImage(base: OpenedBase, appliances: readonly { readonly label: string; readonly appliance: Appliance }[], opts: CheckOptions & { warn?: (line: string) => void } = {}): Promise<RequirementsReport> {
    const report = await this.checkBase(
      appliances.map((a) => participant(a.appliance, a.label)),
      baseFilesOf(base),
      opts,
    );
    enforce([report], 'make the image again (abctl validateBase checks a base without writing an image)', opts.warn);
    return report;
  }

  /** Every target host of the plan, each against the plugins of the instances placed on it. */
  async checkPlanHosts(assembly: Assembly, plan: DeploymentPlan, opts: HostCheckOptions & { unreachable?: 'report' | 'skip' } = {}): Promise<HostReports> {
    const placements: { slot: ApplianceSlot; target: string }[] = [];
    for (const slot of appliancesOf(assembly, plan)) {
      const count = plannedCount(slot);
      for (let index = 1; index <= count; index++) placements.push({ slot, target: placeInstance(slot, index) });
    }
    return this.#checkPlacements(placements, opts);
  }

  /** Each host target of `placements`, against the plugins of the appliances placed on it. */
  async #checkPlacements(placements: readonly { slot: ApplianceSlot; target: string }[], opts: HostCheckOptions & { unreachable?: 'report' | 'skip' }): Promise<HostReports> {
    const byTarget = new Map<string, Participant[]>();
    for (const { slot, target } of placements) {
      const list = byTarget.get(target) ?? [];
      if (!list.some((p) => p.appliance === slot.key)) list.push(participant(slot.appliance, slot.key));
      byTarget.set(target, list);
    }
    const skipped = [...byTarget.keys()].filter((s) => !isHostSpec(s)).map((target) => ({ target, why: 'not a host: what runs there is an image, checked when the image is made' }));
    const reports = await this.requirements.withPlugins(() =>
      Promise.all([...byTarget].filter(([spec]) => isHostSpec(spec)).map(([spec, participants]) => this.#checkHost(spec, participants, opts))),
    );
    return { reports, skipped };
  }

  async #checkHost(spec: string, participants: readonly Participant[], opts: HostCheckOptions & { unreachable?: 'report' | 'skip' }): Promise<RequirementsReport> {
    const t = opts.targetOptions ?? {};
    let host;
    try {
      host = await this.hosts.open(spec === 'local' ? undefined : spec.slice('ssh://'.length), {
        ...(t.identityFile !== undefined ? { identityFile: t.identityFile } : {}),
        ...(t.knownHostsFile !== undefined ? { knownHostsFile: t.knownHostsFile } : {}),
        ...(t.insecureSkipHostKeyCheck === true ? { insecureSkipHostKeyCheck: true } : {}),
        ...(t.connectTimeoutMs !== undefined ? { connectTimeoutMs: t.connectTimeoutMs } : {}),
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const severity = opts.unreachable === 'skip' ? 'warning' : 'error';
      return {
        kind: 'host',
        subject: `host ${spec}`,
        appliances: participants.map((p) => p.appliance),
        plugins: [],
        checked: 0,
        problems: [{ plugin: 'abctl', severity, requirement: 'a connection', found: `cannot reach it, so nothing was checked: ${errorText(err)}` }],
        failedPlugins: [],
      };
    }
    try {
      return await this.requirements.check(hostSubject(host, spec), participants, opts);
    } finally {
      await host.close().catch(() => undefined);
    }
  }

  /** `validateHost`: loads the assembly and plan as deploy does, then checks every host. */
  async validateHosts(assembly: string, planFile: string, opts: HostCheckOptions = {}): Promise<HostReports> {
    const { model, plan, problems } = await this.plans.load(assembly, planFile);
    if (problems.length > 0) {
      throw new UserError('PLAN_INVALID', `the plan has problems, so its hosts were not checked:\n${problems.map((p) => `  ${describePlanProblem(p, planFile)}`).join('\n')}`, {
        where: planFile,
        hint: `fix these (abctl validateDeploymentPlan --assembly ${assembly} --plan ${planFile}), then check the hosts again`,
      });
    }
    return this.checkPlanHosts(model, plan, { ...opts, unreachable: 'report' });
  }

  /** Deploy's check: an unreachable host is left to deploy's own per-instance report. */
  async beforeDeploy(assembly: Assembly, plan: DeploymentPlan, opts: HostCheckOptions): Promise<void> {
    const { reports } = await this.checkPlanHosts(assembly, plan, { ...opts, unreachable: 'skip' });
    enforce(reports, `deploy again (abctl validateHost --assembly ${assembly.name} --plan PLAN checks the hosts without deploying)`, opts.warn);
  }

  /** scaleAppliance's check, on the hosts its new instances go to (an unreachable one is reported per instance, as by deploy). */
  async beforeScale(assembly: Assembly, plan: DeploymentPlan, placements: readonly { readonly appliance: string; readonly target: string }[], opts: HostCheckOptions): Promise<void> {
    const slots = new Map(appliancesOf(assembly, plan).map((s) => [s.key, s]));
    const placed = placements.flatMap((p) => {
      const slot = slots.get(p.appliance);
      return slot ? [{ slot, target: p.target }] : [];
    });
    const { reports } = await this.#checkPlacements(placed, { ...opts, unreachable: 'skip' });
    enforce(reports, `scale again (abctl validateHost --assembly ${assembly.name} --plan PLAN checks the plan's hosts without deploying)`, opts.warn);
  }
}
