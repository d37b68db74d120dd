/**
 * A line per instance on stderr while a deployment command works: its id, its host and
 * its step. Drawn only on a terminal (redrawn in place, at most ~10 times a second); when
 * stderr is piped nothing is printed, so logs and --json output stay clean.
 */
import type { ProgressEvent } from '../services/deploy/module.js';

export interface InstanceProgressView {
  update(event: ProgressEvent): void;
  done(): void;
}

export function createInstanceProgressView(stream: NodeJS.WriteStream = process.stderr): InstanceProgressView {
  if (!stream.isTTY) return { update() {}, done() {} };
  const lines = new Map<string, string>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  const paint = (): void => {
    last = Date.now();
    const width = (stream.columns || 100) - 1;
    let out = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const line of lines.values()) out += `\r\x1b[K${line.slice(0, width)}\n`;
    drawn = lines.size;
    stream.write(out);
  };
  const schedule = (): void => {
    const wait = 100 - (Date.now() - last);
    if (wait <= 0) return paint();
    // Later, not dropped: the last step of every instance must reach the screen.
    timer ??= setTimeout(() => {
      timer = undefined;
      paint();
    }, wait).unref();
  };
  return {
    update(e) {
      lines.set(e.id, `${e.id.padEnd(16)} ${e.target.padEnd(28)} ${e.status}${e.message ? `: ${e.message.split('\n')[0]}` : ''}`);
      schedule();
    },
    done() {
      clearTimeout(timer);
      timer = undefined;
      if (lines.size > 0) paint();
    },
  };
}
