/**
 * Requirement checks of plugins on base images and hosts, described statically like COMMANDS;
 * the implementation (cli/commands/validation.ts) is imported when one runs.
 */
import { defineCommand, jsonOption, type CommandDefinition, type JsonOption, type OptionSpec } from './command-spec.js';
import { targetSsh, type TargetSshOptions } from './deploy-commands.js';

export interface ValidateBaseOptions extends JsonOption {
  readonly appliance: string;
  readonly assembly?: string;
  readonly base: string;
}

export interface ValidateHostOptions extends JsonOption, TargetSshOptions {
  readonly assembly: string;
  readonly plan: string;
}

export const VALIDATION_COMMANDS: readonly CommandDefinition[] = [
  defineCommand<ValidateBaseOptions>({
    name: 'validateBase',
    summary: "check a base image against the requirements of an appliance's plugins (users, groups, packages), listing every problem",
    details:
      'BASE is what createTemplate takes: an OCI image layout directory, an oci-archive (either with :REF), or a root file system directory (e.g. made with debootstrap). ' +
      'Kernel parameters and swap belong to the node that runs the image, so they are shown as warnings here and checked on hosts by validateHost. Exit 1 when a requirement is not met.',
    options: [
      { flags: '--appliance <name>', description: 'appliance (or atomic assembly) in the catalog, or its path in --assembly', required: true },
      { flags: '--assembly <name>', description: 'assembly holding the appliance (as for createTemplate)' },
      { flags: '--base <base>', description: 'base image: OCI layout directory, oci-archive file or root file system directory', required: true },
      jsonOption,
    ],
    load: () => import('./commands/validation.js').then((m) => ({ run: m.validateBase })),
  }),
  defineCommand<ValidateHostOptions>({
    name: 'validateHost',
    summary: "check every target host of a deployment plan against the requirements of its appliances' plugins, listing every problem",
    details:
      'Users, groups (getent), Debian packages (dpkg-query), kernel parameters (/proc/sys) and swap (/proc/meminfo), on local and ssh:// targets. ' +
      'deploy runs the same check before it ships anything. Exit 1 when a requirement is not met or a host cannot be reached.',
    options: [
      { flags: '--assembly <name>', description: 'top-level assembly to deploy', required: true },
      { flags: '--plan <file>', description: 'deployment plan naming the target hosts', required: true },
      ...(targetSsh as OptionSpec<ValidateHostOptions>[]),
      jsonOption,
    ],
    load: () => import('./commands/validation.js').then((m) => ({ run: m.validateHost })),
  }),
];
