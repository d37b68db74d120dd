/**
 * Image commands, described statically like COMMANDS (help needs no code); the implementation
 * (cli/commands/create-template.ts, services/image) is imported when it runs.
 */
import { defineCommand, jsonOption, type CommandDefinition, type JsonOption } from './command-spec.js';

export interface CreateTemplateOptions extends JsonOption {
  readonly appliance: string;
  readonly assembly?: string;
  readonly base: string;
  readonly out: string;
  readonly archive?: string;
  readonly node?: string;
}

export const IMAGE_COMMANDS: readonly CommandDefinition[] = [
  defineCommand<CreateTemplateOptions>({
    name: 'createTemplate',
    summary: 'write an OCI image of an appliance (or of each member of an atomic assembly) from its captured file sets and a base image',
    details:
      'BASE is an OCI image layout directory, an oci-archive file (either may end in :REF to pick one image), or a root file system\n' +
      'directory (debootstrap --variant=minbase bookworm DIR makes one offline). Each image is written to OUT/<appliance>/ as an\n' +
      'OCI image layout named abctl/<appliance>, tagged with the first 12 hex digits of its manifest digest; podman pull oci:OUT/<appliance>:<tag>\n' +
      'imports it. The container rehydrates and starts the product, and stops it on SIGTERM; see docs/images.md.',
    options: [
      { flags: '--appliance <name>', description: 'top-level appliance, or with --assembly a member path (an atomic assembly: every member)', required: true },
      { flags: '--assembly <name>', description: 'assembly holding the appliance' },
      { flags: '--base <base>', description: 'base image: OCI layout dir, oci-archive file, or root file system dir', required: true },
      { flags: '--out <dir>', description: 'directory to write the image layouts into', defaultValue: 'images' },
      { flags: '--archive <file>', description: 'also write an oci-archive tar (several images: <file stem>-<appliance>.tar)' },
      { flags: '--node <path|none>', description: 'Node.js binary to ship as /opt/abctl/node (default: this one; none: the base has node >= 20 on PATH)' },
      jsonOption,
    ],
    load: () => import('./commands/create-template.js'),
  }),
];
