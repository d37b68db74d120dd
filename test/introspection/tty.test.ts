/**
 * A password parameter typed at a real terminal: `script` (util-linux) gives abctl a pseudo
 * terminal, and the password is typed into it. It must be asked for without echo, reach the
 * plugin, and be stored only encrypted.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/catalog.js';
import { instanceLayout } from '../../services/instance.js';
import { tempDir } from '../helpers/plugins.js';
import { bin, catalogText, cliEnv, writeTestPlugin } from './helpers.js';

const PASSWORD = 'typed-Secr3t-at-the-tty';
let tmp: { path: string; cleanup: () => Promise<void> };

beforeEach(async () => {
  tmp = await tempDir('abctl-tty-');
  await mkdir(join(tmp.path, 'plugins'));
});
afterEach(() => tmp.cleanup());

/** Runs the command on a pseudo terminal, types `input` once the prompt shows, returns the transcript. */
function onTerminal(command: string, env: NodeJS.ProcessEnv, input: string): Promise<{ code: number | null; transcript: string }> {
  return new Promise((resolve) => {
    const p = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let transcript = '';
    let typed = false;
    const onData = (d: Buffer): void => {
      transcript += d.toString();
      if (!typed && transcript.includes('admin password')) {
        typed = true;
        p.stdin.write(`${input}\r`);
      }
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    p.on('close', (code) => resolve({ code, transcript }));
  });
}

describe('password prompt on a terminal', () => {
  it('asks without echo and stores the typed password encrypted', async () => {
    const instance = join(tmp.path, 'instance');
    const bundled = join(tmp.path, 'plugins');
    await writeTestPlugin(bundled, {
      name: 'secretive',
      params: [{ name: 'admin-password', type: 'password', description: 'admin password', required: true }],
      dehydrate: `ctx.createAppliance({ name: 'app', properties: [{ name: 'admin.password', type: 'password', category: 'user', value: String(ctx.parameters['admin-password']) }] });`,
    });
    const env = cliEnv(instance, bundled);
    const { code, transcript } = await onTerminal(`${process.execPath} ${bin} introspectsecretive`, env, PASSWORD);
    expect(code, transcript).toBe(0);
    expect(transcript).toContain('introspected appliance "app"');
    expect(transcript).not.toContain(PASSWORD);
    expect(catalogText(instance)).not.toContain(PASSWORD);
    const stored = await new Catalog(instanceLayout(instance)).getAppliance('app');
    expect(stored.properties.getValue('admin.password')).toBe(PASSWORD);
  });
});
