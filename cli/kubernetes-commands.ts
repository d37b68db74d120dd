/**
 * The Kubernetes command, described statically like COMMANDS (help needs no code); the
 * implementation is imported when it runs (cli/commands/export-kubernetes.ts).
 */
import { defineCommand, jsonOption, type CommandDefinition, type JsonOption } from './command-spec.js';

export interface ExportKubernetesOptions extends JsonOption {
  readonly assembly: string;
  readonly plan: string;
  readonly out: string;
  readonly namespace?: string;
  readonly images?: string;
  readonly imagePrefix?: string;
  readonly imageTag?: string;
  readonly singleFile?: boolean;
  readonly volumeSize?: string;
}

export const KUBERNETES_COMMANDS: readonly CommandDefinition[] = [
  defineCommand<ExportKubernetesOptions>({
    name: 'exportKubernetes',
    summary: 'write Kubernetes manifests (and a kustomization) for an assembly with a deployment plan',
    details:
      'Each appliance becomes a Deployment (a StatefulSet when a file set is marked ' +
      'stateful), its inputs Services, its properties a ConfigMap and its passwords a ' +
      'Secret (written 0600); see docs/kubernetes.md. Apply with kubectl apply -k OUT. ' +
      'An existing OUT is replaced only when an earlier export wrote it.',
    options: [
      { flags: '--assembly <name>', description: 'top-level assembly', required: true },
      { flags: '--plan <file>', description: 'deployment plan (abctl createDeploymentPlan)', required: true },
      { flags: '--out <dir>', description: 'directory to write', required: true },
      { flags: '--namespace <ns>', description: 'namespace for every object (default: kubectl\'s current one)' },
      { flags: '--images <dir>', description: 'where abctl createTemplate wrote the images (DIR/<appliance>/index.json): their exact tags are used' },
      { flags: '--image-prefix <prefix>', description: 'image repository prefix (default: abctl), e.g. registry.example.com/shop' },
      { flags: '--image-tag <tag>', description: 'tag of every image (instead of the tags in --images)' },
      { flags: '--single-file', description: 'one all.yaml (and secrets.yaml) instead of a file per object' },
      { flags: '--volume-size <quantity>', description: 'storage asked for each volume abctl creates (default 1Gi)' },
      jsonOption,
    ],
    load: () => import('./commands/export-kubernetes.js'),
  }),
];
