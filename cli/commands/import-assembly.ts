/** importAssembly: a thin wrapper over services/assembly-archive (importAssembly). */
import { join } from 'node:path';
import type { CommandRun } from '../command-spec.js';
import type { ImportAssemblyOptions } from '../image-commands.js';
import { withInterrupt } from '../interrupt.js';
import { printJson, withApplication } from '../session.js';

export const run: CommandRun<ImportAssemblyOptions> = async (opts, globals) =>
  withApplication(globals, { activate: false }, async (app) => {
    const [{ importAssembly }, { Catalog }] = await Promise.all([import('../../services/assembly-archive/import.js'), import('../../catalog/index.js')]);
    const result = await withInterrupt((signal) =>
      importAssembly({
        catalog: app.get(Catalog),
        tmpDir: app.layout.tmpDir,
        file: opts.file,
        ...(opts.as !== undefined ? { as: opts.as } : {}),
        ...(opts.key !== undefined ? { keyFile: opts.key } : {}),
        ...(opts.out !== undefined ? { out: opts.out } : {}),
        importsDir: join(app.layout.root, 'imports'),
        signal,
      }),
    );
    if (opts.json) {
      printJson(result);
      return 0;
    }
    process.stdout.write(`imported assembly ${result.assembly} (${result.catalogFiles} catalog files${result.passwords ? `, ${result.passwords} password value(s) re-encrypted` : ''})\n`);
    for (const i of result.images) process.stdout.write(`  image ${i.repository}:${i.tag} (${i.appliance}) -> ${i.dir}\n    load: podman pull oci:${i.dir}:${i.tag}\n`);
    if (result.kubernetesDir) process.stdout.write(`  kubernetes manifests (no Secrets): ${result.kubernetesDir}\n`);
    return 0;
  });
