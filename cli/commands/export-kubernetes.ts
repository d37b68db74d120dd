/** exportKubernetes: a thin wrapper over KubernetesExporter (services/kubernetes). */
import type { CommandRun } from '../command-spec.js';
import type { ExportKubernetesOptions } from '../kubernetes-commands.js';
import { printJson, withApplication } from '../session.js';

export const run: CommandRun<ExportKubernetesOptions> = (opts, globals) =>
  withApplication(globals, { activate: false }, async (app) => {
    const { KubernetesExporter, kubernetesModule } = await import('../../services/kubernetes/module.js');
    app.container.load(kubernetesModule);
    const result = await app.get(KubernetesExporter).export({
      assembly: opts.assembly,
      planFile: opts.plan,
      out: opts.out,
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      ...(opts.images !== undefined ? { imagesDir: opts.images } : {}),
      ...(opts.imagePrefix !== undefined ? { prefix: opts.imagePrefix } : {}),
      ...(opts.imageTag !== undefined ? { tag: opts.imageTag } : {}),
      ...(opts.singleFile === true ? { singleFile: true } : {}),
      ...(opts.volumeSize !== undefined ? { volumeSize: opts.volumeSize } : {}),
    });
    if (opts.json) {
      printJson(result);
      return 0;
    }
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    for (const f of result.files) {
      const what = f.objects.map((o) => `${o.kind} ${o.name}`).join(', ');
      process.stdout.write(`${f.file}${f.secret ? ' (0600)' : ''}${what ? `: ${what}` : ''}\n`);
    }
    process.stdout.write(`wrote ${result.out}; apply with: kubectl apply -k ${result.out}\n`);
    return 0;
  });
