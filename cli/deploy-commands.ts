/**
 * Deployment commands, described statically like COMMANDS (help needs no code); each
 * implementation is imported when it runs (cli/commands/deploy.ts).
 */
import { defineCommand, jsonOption, type CommandDefinition, type JsonOption, type OptionSpec } from './command-spec.js';

/** How to reach SSH targets: the host option group without --host (the plan names the hosts). */
export interface TargetSshOptions {
  readonly identityFile?: string;
  readonly knownHosts?: string;
  readonly insecureSkipHostKeyCheck?: boolean;
}

export interface WorkOptions extends JsonOption, TargetSshOptions {
  readonly parallel?: string;
}

export interface DeployCommandOptions extends WorkOptions {
  readonly assembly: string;
  readonly plan: string;
  readonly name?: string;
  readonly targetRoot?: string;
  readonly base?: string;
  readonly node?: string;
  readonly registry?: string;
}

export interface DeploymentOptions extends WorkOptions {
  readonly deployment: string;
}

export interface ScaleApplianceOptions extends DeploymentOptions {
  readonly appliance: string;
  readonly count: string;
}

export interface DescribeDeploymentsOptions extends JsonOption {
  readonly deployment?: string;
}

export const targetSsh: OptionSpec<TargetSshOptions>[] = [
  { flags: '--identity-file <file>', description: 'SSH private key for ssh:// targets (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa, or the agent)' },
  { flags: '--known-hosts <file>', description: 'known_hosts file to check target host keys against (default: ~/.ssh/known_hosts)' },
  { flags: '--insecure-skip-host-key-check', description: 'do not check SSH host keys (prints a warning)' },
];
const parallel: OptionSpec<WorkOptions> = { flags: '--parallel <n>', description: 'instances worked on at once', defaultValue: '8' };
const deployment: OptionSpec<DeploymentOptions> = { flags: '--deployment <name>', description: 'deployment name (see describeDeployments)', required: true };
const work = [deployment, parallel, ...targetSsh, jsonOption] as OptionSpec<DeploymentOptions>[];

export const DEPLOY_COMMANDS: readonly CommandDefinition[] = [
  defineCommand<DeployCommandOptions>({
    name: 'deploy',
    summary: 'deploy an assembly with a deployment plan onto the hosts the plan names, or resume a deployment that stopped',
    details:
      'Each appliance gets the plan\'s instance count; instance N runs on the target of the plan\'s <host instance="N" target="..."> line ' +
      '(local, ssh://user@host:port, podman, or kubernetes:CONTEXT), else on the appliance\'s targets in turn. Products start after ' +
      'what they connect to. Engine targets (podman, kubernetes) build each appliance\'s image over --base first (docs/deployments.md). ' +
      'Running it again resumes: instances already running are left alone. The record is in <instance>/deployments/<name>/.',
    options: [
      { flags: '--assembly <name>', description: 'top-level assembly to deploy', required: true },
      { flags: '--plan <file>', description: 'deployment plan (abctl createDeploymentPlan)', required: true },
      { flags: '--name <deployment>', description: 'deployment name (default: the assembly name)' },
      { flags: '--target-root <dir>', description: 'directory on every host under which deploy writes (default: /var/lib/abctl)' },
      { flags: '--base <base>', description: 'podman and kubernetes targets: base image of the appliance images (as createTemplate --base)' },
      { flags: '--node <path|none>', description: 'podman and kubernetes targets: Node.js binary the images ship (as createTemplate --node)' },
      { flags: '--registry <prefix>', description: 'kubernetes targets: registry (and path) the images are pushed to, e.g. registry.example.com:5000/team' },
      parallel,
      ...targetSsh,
      jsonOption,
    ],
    load: () => import('./commands/deploy.js').then((m) => ({ run: m.deploy })),
  }),
  defineCommand<DescribeDeploymentsOptions>({
    name: 'describeDeployments',
    summary: 'list the deployments of this instance with each instance\'s host, ports and status',
    options: [{ flags: '--deployment <name>', description: 'only this deployment' }, jsonOption],
    load: () => import('./commands/deploy.js').then((m) => ({ run: m.describeDeployments })),
  }),
  defineCommand<DeploymentOptions>({
    name: 'pingDeployment',
    summary: 'ask every instance of a deployment whether its product is healthy (exit 1 when one is not)',
    options: work,
    load: () => import('./commands/deploy.js').then((m) => ({ run: m.pingDeployment })),
  }),
  defineCommand<DeploymentOptions>({
    name: 'stopDeployment',
    summary: 'stop every instance of a deployment, clients before what they connect to',
    options: work,
    load: () => import('./commands/deploy.js').then((m) => ({ run: m.stopDeployment })),
  }),
  defineCommand<DeploymentOptions>({
    name: 'startDeployment',
    summary: 'start the stopped instances of a deployment, each after what it connects to (and those recorded running whose ping fails)',
    options: work,
    load: () => import('./commands/deploy.js').then((m) => ({ run: m.startDeployment })),
  }),
  defineCommand<ScaleApplianceOptions>({
    name: 'scaleAppliance',
    summary: 'set the number of instances of one appliance in a deployment (within its scalability min..max)',
    details: 'New instances go to the plan\'s further hosts; the highest-numbered instances are removed first. Appliances that connect to it are rehydrated again with the new list of peers.',
    options: [
      deployment as OptionSpec<ScaleApplianceOptions>,
      { flags: '--appliance <name>', description: 'appliance (its path in the assembly, e.g. tier/web)', required: true },
      { flags: '--count <n>', description: 'number of instances', required: true },
      ...(work.slice(1) as OptionSpec<ScaleApplianceOptions>[]),
    ],
    load: () => import('./commands/deploy.js').then((m) => ({ run: m.scaleAppliance })),
  }),
  defineCommand<DeploymentOptions>({
    name: 'undeploy',
    summary: 'stop every instance of a deployment, remove what deploy wrote on each host, then the record',
    options: work,
    load: () => import('./commands/deploy.js').then((m) => ({ run: m.undeploy })),
  }),
];
