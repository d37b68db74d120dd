/**
 * The test kit's dehydrate runs the same fileRef check as the introspection, so an author's own
 * test catches a `contentresource:` value naming no resource. A real plugin directory, run for real.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { PluginError } from '../../core/errors.js';
import { dehydrate } from '../../services/authoring/testkit.js';
import { tempDir, writePlugin } from '../helpers/plugins.js';

let tmp: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  tmp = await tempDir('abctl-testkit-fileref-');
});
afterEach(async () => {
  await tmp.cleanup();
});

it('fails the test kit dehydrate as the plugin\'s error when a fileRef names a missing content resource', async () => {
  const dir = await writePlugin(tmp.path, {
    name: 'dangling',
    index: `export const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPlugin, { name: 'dangling', async dehydrate(d) {
      d.createAppliance({ name: 'app', properties: [{ name: 'conf', type: 'fileRef', category: 'user', value: 'contentresource:app.conf' }] });
    } }); } };\n`,
  });
  const err = await dehydrate({ plugin: dir, capture: false }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PluginError);
  expect(err).toMatchObject({ plugin: 'dangling', code: 'FILEREF_UNRESOLVED', where: 'appliance "app" > property "conf"' });
  expect((err as PluginError).message).toContain('contentresource:app.conf');
});
