/** The deployment commands: thin wrappers over DeploymentService (services/deploy). */
import type { CommandResult, DeploymentService, DeploymentSummary, HealthRow, TargetOptions } from '../../services/deploy/module.js';
import { UserError } from '../../core/errors.js';
import type { CommandRun, GlobalOptions } from '../command-spec.js';
import type { DeployCommandOptions, DeploymentOptions, DescribeDeploymentsOptions, ScaleApplianceOptions, TargetSshOptions, WorkOptions } from '../deploy-commands.js';
import { createInstanceProgressView } from '../deploy-progress.js';
import { withInterrupt } from '../interrupt.js';
import { printJson, withApplication } from '../session.js';

export function targetOptions(opts: TargetSshOptions & { base?: string; node?: string; registry?: string }): TargetOptions {
  const engine = {
    ...(opts.base !== undefined ? { base: opts.base } : {}),
    ...(opts.node !== undefined ? { node: opts.node } : {}),
    ...(opts.registry !== undefined ? { registry: opts.registry } : {}),
  };
  return {
    ...(Object.keys(engine).length > 0 ? { engine } : {}),
    ...(opts.identityFile !== undefined ? { identityFile: opts.identityFile } : {}),
    ...(opts.knownHosts !== undefined ? { knownHostsFile: opts.knownHosts } : {}),
    ...(opts.insecureSkipHostKeyCheck === true ? { insecureSkipHostKeyCheck: true } : {}),
  };
}

function positive(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UserError('OPTION_INVALID', `${flag} must be a whole number from 1, not "${text}"`, { hint: `e.g. ${flag} 4` });
  return Number(text);
}

/**
 * Runs `fn` with the service, a per-instance progress display and Ctrl-C wired to an abort:
 * the first Ctrl-C stops the running steps on every host and leaves the record as far as it got.
 */
async function withDeployments<T>(globals: GlobalOptions, opts: WorkOptions, fn: (service: DeploymentService, common: Parameters<DeploymentService['stop']>[1]) => Promise<T>): Promise<T> {
  return withApplication(globals, { activate: false }, async (app) => {
    const { DeploymentService } = await import('../../services/deploy/module.js');
    const view = createInstanceProgressView();
    try {
      return await withInterrupt(
        (signal) =>
          fn(app.get(DeploymentService), {
            signal,
            onProgress: (e) => view.update(e),
            targetOptions: targetOptions(opts),
            parallel: positive(opts.parallel, '--parallel', 8),
          }),
        '\ninterrupted: stopping the running steps (run the command again to resume)\n',
      );
    } finally {
      view.done();
    }
  });
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  ')).join('\n') + '\n';
}

function ports(i: { ports: readonly { input: string; port: number }[] }): string {
  return i.ports.map((p) => `${p.input}:${p.port}`).join(',') || '-';
}

function instancesTable(r: CommandResult['record']): string {
  return table([
    ['INSTANCE', 'HOST', 'TARGET', 'PORTS', 'STATUS'],
    ...r.instances.map((i) => [i.id, i.hostname || '-', i.target, ports(i), i.status === 'failed' ? `failed (${i.failedStep ?? '?'}): ${i.error ?? ''}` : i.status]),
  ]);
}

/** Prints the outcome; failures go to stderr with the end of each instance's log. Exit 1 when any failed. */
function report(opts: WorkOptions, verb: string, r: CommandResult): number {
  if (opts.json) {
    printJson({ deployment: r.record.name, record: r.record, failures: r.failures, ...(r.warnings ? { warnings: r.warnings } : {}) });
    return r.failures.length ? 1 : 0;
  }
  for (const w of r.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(instancesTable(r.record));
  if (r.failures.length === 0) {
    process.stdout.write(`${verb} deployment ${r.record.name}\n`);
    return 0;
  }
  for (const f of r.failures) {
    process.stderr.write(`error: ${f.id} on ${f.target}: ${f.step} failed: ${f.message}\n`);
    if (f.hint) process.stderr.write(`  hint: ${f.hint}\n`);
    if (f.logTail) process.stderr.write(`  last lines of its log:\n${f.logTail.replace(/^/gm, '    | ')}\n`);
  }
  process.stderr.write(`  hint: fix the cause and run the same command again: it resumes where it stopped\n`);
  return 1;
}

export const deploy: CommandRun<DeployCommandOptions> = (opts, globals) =>
  withDeployments(globals, opts, async (service, common) => {
    const r = await service.deploy({
      ...common,
      assembly: opts.assembly,
      planFile: opts.plan,
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      ...(opts.targetRoot !== undefined ? { targetRoot: opts.targetRoot } : {}),
    });
    return report(opts, 'deployed', r);
  });

export const describeDeployments: CommandRun<DescribeDeploymentsOptions> = (opts, globals) =>
  withApplication(globals, { activate: false }, async (app) => {
    const { DeploymentService } = await import('../../services/deploy/module.js');
    const service = app.get(DeploymentService);
    const list: DeploymentSummary[] = opts.deployment !== undefined ? [await service.describe(opts.deployment)] : await service.list();
    if (opts.json) {
      printJson({ deployments: list.map((d) => ({ ...d.record, statuses: d.statuses })) });
      return 0;
    }
    if (list.length === 0) {
      process.stdout.write('no deployments (abctl deploy --assembly A --plan P makes one)\n');
      return 0;
    }
    for (const d of list) {
      const counts = Object.entries(d.statuses).map(([s, n]) => `${n} ${s}`).join(', ');
      process.stdout.write(`deployment ${d.record.name}: assembly ${d.record.assembly}, ${d.record.instances.length} instance(s): ${counts}; updated ${d.record.updatedAt}\n`);
      process.stdout.write(instancesTable(d.record).replace(/^(?=.)/gm, '  '));
    }
    return 0;
  });

export const pingDeployment: CommandRun<DeploymentOptions> = (opts, globals) =>
  withDeployments(globals, opts, async (service, common) => {
    const rows: HealthRow[] = await service.ping(opts.deployment, common);
    const healthy = rows.every((r) => r.healthy);
    if (opts.json) printJson({ deployment: opts.deployment, healthy, instances: rows });
    else process.stdout.write(table([['INSTANCE', 'HOST', 'STATUS', 'HEALTH', 'MESSAGE'], ...rows.map((r) => [r.id, r.hostname || r.target, r.status, r.healthy ? 'healthy' : 'UNHEALTHY', r.message])]));
    return healthy ? 0 : 1;
  });

export const stopDeployment: CommandRun<DeploymentOptions> = (opts, globals) =>
  withDeployments(globals, opts, async (service, common) => report(opts, 'stopped', await service.stop(opts.deployment, common)));

export const startDeployment: CommandRun<DeploymentOptions> = (opts, globals) =>
  withDeployments(globals, opts, async (service, common) => report(opts, 'started', await service.start(opts.deployment, common)));

export const scaleAppliance: CommandRun<ScaleApplianceOptions> = (opts, globals) =>
  withDeployments(globals, opts, async (service, common) => {
    const count = Number(opts.count);
    if (!/^\d+$/.test(opts.count)) throw new UserError('OPTION_INVALID', `--count must be a whole number, not "${opts.count}"`);
    return report(opts, `scaled ${opts.appliance} to ${count} in`, await service.scale(opts.deployment, opts.appliance, count, common));
  });

export const undeploy: CommandRun<DeploymentOptions> = (opts, globals) =>
  withDeployments(globals, opts, async (service, common) => {
    const r = await service.undeploy(opts.deployment, common);
    if (!opts.json && r.failures.length === 0) {
      process.stdout.write(`undeployed ${r.record.name}: ${r.record.instances.length} instance(s) stopped and removed\n`);
      return 0;
    }
    return report(opts, 'undeployed', r);
  });
