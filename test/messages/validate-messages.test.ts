/**
 * The `messages` check of validatePlugin on real plugin directories: message files that parse
 * (escapes, continuation lines, UTF-8), agree with English (ids and {n} placeholders), and hold
 * the ids the plugin's code asks for; each problem with file:line. Also abctl's own files.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePluginDirectory } from '../../services/authoring/validation.js';
import { projectRoot } from '../../services/instance.js';
import { checkMessagesDirectory } from '../../services/messages/check-messages.js';
import { messagesIn } from '../../services/messages/message-files.js';
import { tempDir } from '../helpers/plugins.js';
import { abctl, cliEnv } from '../introspection/helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  tmp = await tempDir('abctl-validate-messages-');
});
afterAll(async () => tmp?.cleanup());

/** A valid plugin named `name` whose dehydrate uses `code`, with these message files. */
async function plugin(name: string, files: Record<string, string | Buffer>, code = ''): Promise<string> {
  const dir = join(tmp.path, name);
  await mkdir(join(dir, 'messages'), { recursive: true });
  await writeFile(join(dir, 'plugin.config'), `name=${name}\nversion=1.0\nminSdkVersion=1.4\n`);
  await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
  await writeFile(
    join(dir, 'index.js'),
    `const service = { name: '${name}', async dehydrate(ctx) {\n  ${code}\n} };\nexport const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPlugin, service); } };\n`,
  );
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, 'messages', file), text);
  return dir;
}

const EN = ['# texts', 'conf_missing=no configuration in {0}', 'conf_missing.hint=--home must hold {0}', 'port_busy=port {0} is taken by {1}', 'long=first part \\', '    second part, caf\\u00e9', ''].join('\n');

describe('validatePlugin: messages', () => {
  it('passes consistent files, and they read as Java properties (escapes, continuation lines, UTF-8)', async () => {
    const dir = await plugin('good', { 'en.properties': EN, 'fr.properties': 'conf_missing=pas de configuration dans {0}\nport_busy=le port {0} est pris par {1}\n', 'fr_CA.properties': 'port_busy=le port {0} est occupé par {1}\n' }, "throw ctx.messages.error('conf_missing', ['/x'], { hint: 'conf_missing.hint' });");
    const r = await validatePluginDirectory(dir, { sink: () => undefined });
    expect(r.problems).toEqual([]);
    expect(r.checks.find((c) => c.check === 'messages')?.status).toBe('passed');
    const en = messagesIn(dir, { LANG: 'C' });
    expect(en.format('long')).toBe('first part second part, café');
    // A placeholder without an argument stays; extra arguments are ignored.
    expect(en.format('port_busy', 80)).toBe('port 80 is taken by {1}');
    const ca = messagesIn(dir, { LANG: 'fr_CA.UTF-8' });
    expect([ca.locale, ca.format('port_busy', 80, 'nginx'), ca.format('conf_missing', '/etc')]).toEqual(['fr_CA', 'le port 80 est occupé par nginx', 'pas de configuration dans /etc']);
  });

  it('reports ids English lacks, placeholders that differ, bad lines, names and bytes, each at file:line', async () => {
    const dir = await plugin(
      'bad',
      {
        'en.properties': `${EN}port_busy=port {0} is used by {1}\n=orphan text\n`,
        'fr.properties': '# fr\nconf_missing=pas de configuration\nport_busy=le port {1} est pris par {0}\nport_libre=le port {0} est libre\nbroken=\\u00g9\n',
        'de.properties': Buffer.from('conf_missing=keine Konfiguration in {0} \xfc\n', 'latin1'),
        'french.properties': 'conf_missing=x\n',
      },
      "ctx.log.info(ctx.messages.format('conf_missing', 1));\n  throw ctx.messages.error('no_such_id');",
    );
    const r = await validatePluginDirectory(dir, { sink: () => undefined });
    const m = join(dir, 'messages');
    expect(r.problems.filter((p) => p.check === 'messages').map((p) => [p.code, p.where])).toEqual([
      ['MESSAGES_NOT_UTF8', `${m}/de.properties:1`],
      ['MESSAGES_DUPLICATE_ID', `${m}/en.properties:7`],
      ['MESSAGES_ID_INVALID', `${m}/en.properties:8`],
      ['MESSAGES_SYNTAX', `${m}/fr.properties:5`],
      ['MESSAGES_FILE_NAME', `${m}/french.properties`],
      ['MESSAGES_PLACEHOLDERS', `${m}/fr.properties:2`],
      ['MESSAGES_ID_UNKNOWN', `${m}/fr.properties:4`],
      ['MESSAGES_ID_UNKNOWN', `${m}/fr.properties:5`],
      ['MESSAGES_ID_UNDEFINED', `${join(dir, 'index.js')}:3`],
    ]);
    const placeholders = r.problems.find((p) => p.code === 'MESSAGES_PLACEHOLDERS');
    expect(placeholders?.message).toBe('"conf_missing" uses none but the English text (line 2) uses {0}');
    // {1} {0} in another order is the same set: no problem for port_busy.
    expect(r.problems.every((p) => p.hint !== undefined)).toBe(true);
  });

  it('wants English when there are other locales, and says so through the CLI', async () => {
    const dir = await plugin('noenglish', { 'fr.properties': 'a=b\n' });
    const r = abctl(['validatePlugin', dir, '--json'], cliEnv(join(tmp.path, 'instance'), join(tmp.path, 'none')));
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as { problems: { check: string; code: string; where: string }[] };
    expect(report.problems).toEqual([expect.objectContaining({ check: 'messages', code: 'MESSAGES_ENGLISH_MISSING', where: join(dir, 'messages', 'en.properties') })]);
  });

  it("holds abctl's own message files to the same rules", async () => {
    const copy = join(tmp.path, 'abctl-own');
    await cp(join(projectRoot(), 'messages'), join(copy, 'messages'), { recursive: true });
    expect(await checkMessagesDirectory(copy)).toEqual([]);
  });
});
