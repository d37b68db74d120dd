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

export interface CreateBaseOptions extends JsonOption {
  readonly out: string;
  readonly assembly?: string;
  readonly plugin?: readonly string[];
  readonly suite: string;
  readonly mirror?: string;
  readonly include?: string;
  readonly updates: boolean;
}

export interface ExportAssemblyOptions extends JsonOption {
  readonly assembly: string;
  readonly base: string;
  readonly plan?: string;
  readonly out: string;
  readonly node?: string;
}

export interface ImportAssemblyOptions extends JsonOption {
  readonly file: string;
  readonly as?: string;
  readonly key?: string;
  readonly out?: string;
}

export const IMAGE_COMMANDS: readonly CommandDefinition[] = [
  defineCommand<CreateTemplateOptions>({
    name: 'createTemplate',
    summary: 'write an OCI image of an appliance (or of each member of an atomic assembly) from its captured file sets and a base image',
    details:
      'BASE is an OCI image layout directory, an oci-archive file (either may end in :REF to pick one image), or a root file system ' +
      'directory (debootstrap --variant=minbase bookworm DIR makes one offline). Each image is written to OUT/<appliance>/ as an ' +
      'OCI image layout named abctl/<appliance>, tagged with the first 12 hex digits of its manifest digest; podman pull oci:OUT/<appliance>:<tag> ' +
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
  defineCommand<CreateBaseOptions>({
    name: 'createBase',
    summary: 'make a Debian root file system (debootstrap minbase) with the packages, users and groups the plugins require, for createTemplate and deploy --base',
    details:
      'Installs every Debian package the requirements of the assembly\'s (or the named plugins\') plugins name, plus --include, ' +
      'adds their users and groups as system accounts, then runs the check createTemplate runs (validateBase): the result passes it. ' +
      'Needs root and debootstrap; the mirror is the one apt uses on this machine unless --mirror. Written to OUT.partial-* and ' +
      'renamed to OUT when complete; a failure or Ctrl-C leaves nothing. Time limit: AB_BASE_TIMEOUT_MS (default 20 minutes). See docs/images.md.',
    options: [
      { flags: '--out <dir>', description: 'root file system directory to create (must not exist)', required: true },
      { flags: '--assembly <name>', description: 'make it fit every appliance of this assembly (their plugins, extensions and file set owners)' },
      { flags: '--plugin <name...>', description: 'make it fit these plugins and their extensions (instead of --assembly)' },
      { flags: '--suite <suite>', description: 'Debian suite', defaultValue: 'bookworm' },
      { flags: '--mirror <url>', description: 'Debian mirror (default: the one apt uses here for the suite)' },
      { flags: '--include <pkgs>', description: 'more Debian packages, comma-separated' },
      { flags: '--no-updates', description: 'do not upgrade from the -updates and -security suites apt uses here (by default the base gets them, as this machine has)' },
      jsonOption,
    ],
    load: () => import('./commands/create-base.js'),
  }),
  defineCommand<ExportAssemblyOptions>({
    name: 'exportAssembly',
    summary: 'write one archive of an assembly: an image per appliance (one OCI index, shared layers stored once), its catalog entries and, with a plan, its Kubernetes manifests',
    details:
      'FILE is a tar: abctl-assembly.json, an OCI image layout (oci-layout, index.json, blobs/sha256) and catalog/ (the ' +
      'assembly as this catalog stores it; password values stay encrypted with this instance\'s key). Kubernetes Secrets are ' +
      'never included. abctl importAssembly FILE brings it into another instance; see docs/assembly-archive.md.',
    options: [
      { flags: '--assembly <name>', description: 'top-level assembly to export', required: true },
      { flags: '--base <base>', description: 'base image of every appliance image (as for createTemplate)', required: true },
      { flags: '--plan <file>', description: 'deployment plan: also ship the Kubernetes manifests (without Secrets)' },
      { flags: '--out <file>', description: 'archive file to write', required: true },
      { flags: '--node <path|none>', description: 'Node.js binary to ship in the images (as for createTemplate)' },
      jsonOption,
    ],
    load: () => import('./commands/export-assembly.js'),
  }),
  defineCommand<ImportAssemblyOptions>({
    name: 'importAssembly',
    summary: 'bring an assembly archive (abctl exportAssembly) into this instance\'s catalog, checking every digest',
    details:
      'All or nothing: the catalog is unchanged unless the whole archive checked out. The images are written as one OCI ' +
      'layout per appliance under OUT/images (podman pull oci:OUT/images/<appliance>:<tag>; exportKubernetes --images ' +
      'OUT/images), the Kubernetes manifests under OUT/kubernetes. Password values need the exporting instance\'s ' +
      'config/catalog.key (--key), carried apart from the archive; they are re-encrypted with this instance\'s key.',
    arguments: [{ key: 'file', name: '<file>', description: 'the archive abctl exportAssembly wrote' }],
    options: [
      { flags: '--as <name>', description: 'import under this name (when the archive\'s name is taken here)' },
      { flags: '--key <file>', description: 'the exporting instance\'s config/catalog.key, to take over password values' },
      { flags: '--out <dir>', description: 'where images and manifests go (default: <instance>/imports/<assembly>)' },
      jsonOption,
    ],
    load: () => import('./commands/import-assembly.js'),
  }),
];
