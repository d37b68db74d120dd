import { describe, expect, it } from 'vitest';
import { createInstanceProgressView } from '../../cli/deploy-progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { isTTY, columns: 80, text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('the per-instance progress display', () => {
  it('keeps one line per instance on a terminal, redrawn in place, the last step of each shown', async () => {
    const s = fakeStream(true);
    const view = createInstanceProgressView(s);
    view.update({ id: 'app-1', target: 'local', status: 'shipping' });
    view.update({ id: 'app-2', target: 'ssh://root@h2:22', status: 'shipping' });
    view.update({ id: 'app-1', target: 'local', status: 'running' });
    view.update({ id: 'app-2', target: 'ssh://root@h2:22', status: 'failed', message: 'start: exit 3\nmore' });
    await new Promise((r) => setTimeout(r, 150));
    view.done();
    const screen = s.text.split('\x1b[2A').pop() ?? '';
    expect(screen).toContain('app-1            local                        running\n');
    expect(screen).toContain('app-2            ssh://root@h2:22             failed: start: exit 3\n');
    expect(screen).not.toContain('more');
  });

  it('prints nothing when stderr is piped', () => {
    const s = fakeStream(false);
    const view = createInstanceProgressView(s);
    view.update({ id: 'app-1', target: 'local', status: 'running' });
    view.done();
    expect(s.text).toBe('');
  });
});
