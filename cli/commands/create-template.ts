/** createTemplate: a thin wrapper over services/image (createTemplates). */
import type { CommandRun } from '../command-spec.js';
import type { CreateTemplateOptions } from '../image-commands.js';
import { mib } from '../format.js';
import { createProgressView } from '../progress.js';
import { withInterrupt } from '../interrupt.js';
import { printJson, withApplication } from '../session.js';

export const run: CommandRun<CreateTemplateOptions> = async (opts, globals) =>
  withApplication(globals, { activate: false }, async (app) => {
    const [{ createTemplates }, { Catalog }, { ValidationService }] = await Promise.all([
      import('../../services/image/image-writer.js'),
      import('../../catalog/index.js'),
      import('../../services/validation/module.js'),
    ]);
    const view = createProgressView();
    try {
      const inventory = await app.inventory();
      const warnings: string[] = [];
      const images = await withInterrupt((signal) =>
        createTemplates({
          catalog: app.get(Catalog),
          inventory,
          appliance: opts.appliance,
          ...(opts.assembly !== undefined ? { assembly: opts.assembly } : {}),
          base: opts.base,
          outDir: opts.out,
          ...(opts.archive !== undefined ? { archive: opts.archive } : {}),
          ...(opts.node !== undefined ? { node: opts.node } : {}),
          signal,
          // Said at once in text: the images take a while, and a later failure should not hide it.
          onWarning: (w) => (opts.json ? warnings.push(w) : process.stderr.write(`warning: ${w}\n`)),
          // The plugins' requirements against the base, before anything is written (docs/requirements.md).
          check: async (base, appliances) => {
            await app.get(ValidationService).beforeImage(base, appliances, { signal, warn: (line) => process.stderr.write(`${line}\n`) });
          },
          onProgress: (p) => view.plugin(`image ${p.appliance}`, -1, `${p.layer} layer: ${mib(p.bytes)}`),
        }),
      );
      view.done();
      if (opts.json) printJson({ images, warnings });
      else {
        for (const i of images) {
          process.stdout.write(`${i.repository}:${i.tag} (${i.appliance}) -> ${i.dir}\n  manifest ${i.manifestDigest}\n`);
          for (const l of i.layers) process.stdout.write(`  layer ${l.layer}: ${mib(l.size)} ${l.reused ? '(captured archive reused)' : ''}\n`.replace(' \n', '\n'));
          if (i.archive) process.stdout.write(`  oci-archive ${i.archive}\n`);
          process.stdout.write(`  load: podman pull oci:${i.dir}:${i.tag}\n`);
        }
      }
      return 0;
    } finally {
      view.done();
    }
  });
