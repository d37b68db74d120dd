import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressView } from '../cli/progress.js';

/** A stand-in for stderr: a real stream with the TTY flags set (no terminal needed to read what is drawn). */
function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  Object.assign(s, { isTTY, columns: 200 });
  return { stream: s as unknown as NodeJS.WriteStream, text: () => text };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 150));

describe('progress view', () => {
  it('draws plugin percent and unknown share, and keeps the latest of quick updates', async () => {
    const { stream, text } = fakeStream(true);
    const view = createProgressView(stream);
    view.plugin('example', 40, 'describing the appliance');
    // Two updates within the redraw interval: the first may be skipped, the last must be drawn.
    view.plugin('example', -1, 'dehydrating');
    view.plugin('example', 100, 'done');
    await settle();
    const out = text();
    expect(out).toContain('[########            ]  40% example: describing the appliance');
    expect(out).toContain('[####################] 100% example: done');
    view.capture('web/home', 1234, 5 * 1048576);
    await settle();
    expect(text()).toMatch(/capture web\/home: 1234 files, 5\.0 MiB, [\d.]+ MiB\/s/);
    view.done();
    expect(text().endsWith('\r\x1b[K')).toBe(true);
  });

  it('drops a pending line once done() cleared the status line', async () => {
    const { stream, text } = fakeStream(true);
    const view = createProgressView(stream);
    view.plugin('example', 10);
    view.plugin('example', 20);
    view.done();
    await settle();
    expect(text()).not.toContain('20%');
    expect(text().endsWith('\r\x1b[K')).toBe(true);
  });

  it('prints nothing when stderr is not a terminal', () => {
    const { stream, text } = fakeStream(false);
    const view = createProgressView(stream);
    view.plugin('example', 50);
    view.capture('web/home', 1, 1);
    view.done();
    expect(text()).toBe('');
  });
});
