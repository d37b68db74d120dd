/**
 * Messages outside the CLI: through the test kit, a plugin's dehydrate and its rehydrate on the
 * agent (which loads the plugin from the bundle, messages/ included) both format in the locale
 * of the environment, and a coded error raised by rehydrate carries the localized text.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dehydrate, rehydrate } from '../../services/authoring/testkit.js';
import { tempDir, writePlugin } from '../helpers/plugins.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let pluginDir: string;
const saved = { LC_ALL: process.env.LC_ALL };

beforeAll(async () => {
  tmp = await tempDir('abctl-lifecycle-messages-');
  await mkdir(join(tmp.path, 'home'));
  pluginDir = await writePlugin(join(tmp.path, 'plugins'), {
    name: 'plife',
    minSdkVersion: '1.4',
    index: `const service = { name: 'plife',
      jobParameters() { return [{ name: 'home', type: 'path', description: 'home', required: true }]; },
      async dehydrate(ctx) {
        ctx.log.info(ctx.messages.format('found', ctx.parameters.home));
        ctx.createAppliance({ name: 'plife', properties: [{ name: 'fail', type: 'boolean', category: 'user', value: 'false' }], fileSets: [{ name: 'home', root: String(ctx.parameters.home) }] });
      },
      async rehydrate(ctx) {
        if (ctx.appliance.property('fail') === 'true') throw ctx.messages.error('cannot_write', [ctx.appliance.name], { hint: 'cannot_write.hint' });
        ctx.log.info(ctx.messages.format('written', ctx.appliance.name, ctx.messages.locale));
      } };
    export const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPlugin, service); } };\n`,
  });
  await writeFile(join(pluginDir, 'package.json'), '{"type":"module"}\n');
  await mkdir(join(pluginDir, 'messages'));
  await writeFile(join(pluginDir, 'messages', 'en.properties'), 'found=found {0}\nwritten={0} configured ({1})\ncannot_write=cannot configure {0}\ncannot_write.hint=check {0}\n');
  await writeFile(join(pluginDir, 'messages', 'fr.properties'), 'found={0} trouvé\nwritten={0} configuré ({1})\ncannot_write=impossible de configurer {0}\ncannot_write.hint=vérifiez {0}\n');
  process.env.LC_ALL = 'fr_BE.UTF-8';
});
afterAll(async () => {
  if (saved.LC_ALL === undefined) delete process.env.LC_ALL;
  else process.env.LC_ALL = saved.LC_ALL;
  await tmp?.cleanup();
});

describe('messages in the test kit and on the agent', () => {
  it('formats dehydrate and rehydrate log lines, and a rehydrate error, in the environment\'s locale', async () => {
    const home = join(tmp.path, 'home');
    const result = await dehydrate({ plugin: pluginDir, parameters: { home } });
    try {
      expect(result.log).toContain(`plife: ${home} trouvé`);
      const done = await rehydrate(result, { root: join(tmp.path, 'root') });
      expect(done.log.join('\n')).toContain('plife configuré (fr_BE)');
      const failed = rehydrate(result, { root: join(tmp.path, 'root2'), properties: { fail: 'true' } });
      // The chain wraps a step's failure (which step, who did not run) around the plugin's own text.
      await expect(failed).rejects.toMatchObject({ plugin: 'plife', code: 'LIFECYCLE_STEP_FAILED', message: expect.stringContaining('): impossible de configurer plife'), hint: expect.stringMatching(/^vérifiez plife; /) });
    } finally {
      await result.dispose();
    }
  });
});
