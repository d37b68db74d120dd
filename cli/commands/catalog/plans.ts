import { describePlanProblem } from '../../../core/deployment-plan/index.js';
import { promptHidden } from '../../../services/secrets/password-input.js';
import type { CreateDeploymentPlanOptions, SetPlanPasswordOptions, ValidateDeploymentPlanOptions } from '../../catalog-commands.js';
import type { CommandRun } from '../../command-spec.js';
import { printJson } from '../../session.js';
import { withCatalog } from './context.js';
import { readPropertyValue } from './value-input.js';

export const createDeploymentPlan: CommandRun<CreateDeploymentPlanOptions> = (opts, globals) =>
  withCatalog(globals, async ({ plans }) => {
    const { assembly, out } = opts;
    await plans.create(assembly, out, { force: opts.force === true });
    const v = await plans.validate(assembly, out);
    if (opts.json) {
      printJson({ assembly, plan: out, problems: v.problems });
      return 0;
    }
    process.stdout.write(`wrote the deployment plan for assembly ${assembly} to ${out}\n`);
    if (v.problems.length) {
      process.stdout.write(`${v.problems.length} thing${v.problems.length === 1 ? '' : 's'} still to fill in before deployment (abctl validateDeploymentPlan lists them again):\n`);
      for (const p of v.problems) process.stdout.write(`  ${describePlanProblem(p, out).replace(/\n/g, '\n  ')}\n`);
    }
    return 0;
  });

export const validateDeploymentPlan: CommandRun<ValidateDeploymentPlanOptions> = (opts, globals) =>
  withCatalog(globals, async ({ plans }) => {
    const { plan } = opts;
    const v = await plans.validate(opts.assembly, plan, { requireHosts: opts.requireHosts === true });
    if (opts.json) printJson({ assembly: v.assembly, plan, valid: v.problems.length === 0, problems: v.problems });
    else if (v.problems.length === 0) process.stdout.write(`${plan}: the plan is valid for assembly ${v.assembly}\n`);
    else {
      process.stdout.write(`${plan}: ${v.problems.length} problem${v.problems.length === 1 ? '' : 's'}:\n`);
      for (const p of v.problems) process.stdout.write(`${describePlanProblem(p, plan)}\n`);
    }
    return v.problems.length === 0 ? 0 : 1;
  });

export const setPlanPassword: CommandRun<SetPlanPasswordOptions> = (opts, globals) =>
  withCatalog(globals, async ({ plans }) => {
    const { assembly, plan, property } = opts;
    const path = opts.path ?? '';
    const value = await readPropertyValue(`password "${property}"${path ? ` of ${path}` : ''}`, true, {
      // Given only to be refused with the ways that work (file, environment, prompt).
      value: opts.value,
      file: opts.valueFile,
      env: process.env,
      interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
      prompt: promptHidden,
    });
    await plans.setPassword(assembly, plan, path, property, value);
    if (opts.json) printJson({ assembly, plan, path, property, set: true });
    else process.stdout.write(`${plan}: set password ${property}${path ? ` of ${path}` : ''} (stored encrypted)\n`);
    return 0;
  });
