/** exportAssembly: a thin wrapper over services/assembly-archive (exportAssembly). */
import type { CommandRun } from '../command-spec.js';
import type { ExportAssemblyOptions } from '../image-commands.js';
import { mib } from '../format.js';
import { createProgressView } from '../progress.js';
import { withInterrupt } from '../interrupt.js';
import { printJson, withApplication } from '../session.js';

export const run: CommandRun<ExportAssemblyOptions> = async (opts, globals) =>
  withApplication(globals, { activate: false }, async (app) => {
    const [{ exportAssembly }, { Catalog }, { ValidationService }] = await Promise.all([
      import('../../services/assembly-archive/export.js'),
      import('../../catalog/index.js'),
      import('../../services/validation/module.js'),
    ]);
    const view = createProgressView();
    try {
      const inventory = await app.inventory();
      const plan = opts.plan;
      const result = await withInterrupt((signal) =>
        exportAssembly({
          catalog: app.get(Catalog),
          inventory,
          assembly: opts.assembly,
          base: opts.base,
          out: opts.out,
          ...(opts.node !== undefined ? { node: opts.node } : {}),
          signal,
          ...(opts.json ? {} : { onWarning: (w: string) => process.stderr.write(`warning: ${w}\n`) }),
          check: async (base, appliances) => {
            await app.get(ValidationService).beforeImage(base, appliances, { signal, warn: (line) => process.stderr.write(`${line}\n`) });
          },
          onProgress: (p) => view.plugin(`image ${p.appliance}`, -1, `${p.layer} layer: ${mib(p.bytes)}`),
          ...(plan !== undefined
            ? {
                kubernetes: async (dir: string, imagesDir: string) => {
                  const { KubernetesExporter, kubernetesModule } = await import('../../services/kubernetes/module.js');
                  app.container.load(kubernetesModule);
                  await app.get(KubernetesExporter).export({ assembly: opts.assembly, planFile: plan, out: dir, imagesDir });
                },
              }
            : {}),
        }),
      );
      view.done();
      if (opts.json) printJson(result);
      else {
        process.stdout.write(`${result.file} (${mib(result.size)}): assembly ${result.assembly}\n`);
        for (const i of result.images) process.stdout.write(`  image ${i.repository}:${i.tag} (${i.appliance})\n`);
        process.stdout.write(`  ${result.blobs} blobs stored for ${result.blobReferences} image references\n`);
        if (result.passwords > 0) process.stdout.write(`  ${result.passwords} password value(s), encrypted: the importing side needs --key (a copy of this instance's config/catalog.key)\n`);
        if (result.kubernetes.length > 0) process.stdout.write(`  kubernetes: ${result.kubernetes.join(', ')} (Secrets left out)\n`);
        process.stdout.write(`import elsewhere with: abctl importAssembly ${result.file}\n`);
      }
      return 0;
    } finally {
      view.done();
    }
  });
