/**
 * Localized messages through the built CLI, on a real plugin that ships messages/en, fr and
 * fr_CA: a coded user error and a log line in the user's locale (LC_ALL, then LC_MESSAGES, then
 * LANG), English when the locale has no file, the id with its arguments when no file has it;
 * abctl's own error frame in French as well.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writePlugin } from '../helpers/plugins.js';
import { abctl, cliEnv } from '../introspection/helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let base: NodeJS.ProcessEnv;
let home: string;

const INDEX = `const service = { name: 'pmsg',
  jobParameters() { return [{ name: 'home', type: 'path', description: 'home', required: true }, { name: 'mode', type: 'string', description: 'how to fail', defaultValue: 'messages' }]; },
  async dehydrate(ctx) {
    ctx.log.info(ctx.messages.format('reading', ctx.parameters.home));
    const mode = ctx.parameters.mode;
    if (mode === 'messages') throw ctx.messages.error('licence_expired', ['A-17', '2026-01-01'], { hint: 'licence_expired.hint' });
    // Without the helper: what a plugin that builds its own Error sets (the code is the id).
    if (mode === 'plain') throw Object.assign(new Error(''), { id: 'licence_expired', args: ['B-2', '2025-12-31'], hint: 'licence_expired.hint' });
    throw ctx.messages.error('not_translated', ['x', 3]);
  } };
export const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPlugin, service); } };
`;

beforeAll(async () => {
  tmp = await tempDir('abctl-messages-');
  home = (await mkdir(join(tmp.path, 'home'), { recursive: true }), join(tmp.path, 'home'));
  const dir = await writePlugin(join(tmp.path, 'plugins'), { name: 'pmsg', index: INDEX });
  await mkdir(join(dir, 'messages'));
  await writeFile(
    join(dir, 'messages', 'en.properties'),
    ['# English is the fallback of every locale', 'licence_expired=licence {0} expired on {1}', 'licence_expired.hint=renew licence {0} with the vendor', 'reading=reading \\', '    {0}', ''].join('\n'),
  );
  await writeFile(join(dir, 'messages', 'fr.properties'), ['licence_expired=la licence {0} a expiré le {1}', 'licence_expired.hint=renouvelez la licence {0} auprès du fournisseur', 'reading=lecture de {0}', ''].join('\n'));
  await writeFile(join(dir, 'messages', 'fr_CA.properties'), 'licence_expired.hint=renouvelez la licence {0} chez le fournisseur\n');
  base = cliEnv(join(tmp.path, 'instance'), join(tmp.path, 'plugins'));
  for (const k of ['LC_ALL', 'LC_MESSAGES', 'LANG', 'LANGUAGE']) delete base[k];
});
afterAll(async () => tmp?.cleanup());

function run(locale: Record<string, string>, mode = 'messages', json = false): { err: string; json?: { code: string; message: string; hint?: string; plugin?: string } } {
  const r = abctl(['introspectpmsg', '--home', home, '--mode', mode, ...(json ? ['--json'] : [])], { ...base, ...locale });
  expect(r.code, r.out + r.err).toBe(1);
  return { err: r.err, ...(json ? { json: (JSON.parse(r.out) as { error: { code: string; message: string; hint?: string; plugin?: string } }).error } : {}) };
}

describe("a plugin's coded error in the user's locale", () => {
  it('is French with LANG=fr_FR.UTF-8, abctl\'s own frame too, and so is the log line', () => {
    const { err } = run({ LANG: 'fr_FR.UTF-8' });
    expect(err).toContain(`pmsg: lecture de ${home}`);
    expect(err).toContain('erreur dans le plugin pmsg : la licence A-17 a expiré le 2026-01-01\n  conseil : renouvelez la licence A-17 auprès du fournisseur');
  });

  it('is English with LANG=de_DE (no German file), the continuation line joined', () => {
    const { err, json } = run({ LANG: 'de_DE' }, 'messages', true);
    expect(err).toContain(`pmsg: reading ${home}`);
    expect(err).toContain('error in plugin pmsg: licence A-17 expired on 2026-01-01\n  hint: renew licence A-17 with the vendor');
    expect(json).toEqual({ code: 'licence_expired', plugin: 'pmsg', message: 'licence A-17 expired on 2026-01-01', hint: 'renew licence A-17 with the vendor' });
  });

  it('shows the id with its arguments when no file has it', () => {
    const { err } = run({ LANG: 'fr_FR.UTF-8' }, 'missing');
    expect(err).toContain('erreur dans le plugin pmsg : not_translated("x", 3)');
  });

  it('takes LC_ALL over LANG, and fr_CA before fr before en', () => {
    const { err } = run({ LANG: 'en_US.UTF-8', LC_ALL: 'fr_CA.UTF-8' });
    expect(err).toContain('erreur dans le plugin pmsg : la licence A-17 a expiré le 2026-01-01\n  conseil : renouvelez la licence A-17 chez le fournisseur');
  });

  it('localizes an id set on a plain Error the same way (LC_MESSAGES over LANG)', () => {
    const { err } = run({ LANG: 'C.UTF-8', LC_MESSAGES: 'fr_FR.UTF-8' }, 'plain');
    expect(err).toContain('la licence B-2 a expiré le 2025-12-31\n  conseil : renouvelez la licence B-2 auprès du fournisseur');
  });
});

describe("abctl's own messages", () => {
  it('are French with LANG=fr_FR.UTF-8 and English with C', () => {
    const fr = abctl(['describePlugin'], { ...base, LANG: 'fr_FR.UTF-8' });
    expect(fr.code).toBe(1);
    expect(fr.err).toBe('erreur : commande inconnue : describePlugin\n  conseil : vouliez-vous dire describePlugins ? abctl --help liste toutes les commandes\n');
    const c = abctl(['--bogus'], { ...base, LANG: 'fr_FR.UTF-8', LC_ALL: 'C' });
    expect(c.err).toContain('error: unknown option --bogus\n  hint: before the command only --instance DIR');
  });
});
