import { mib } from './format.js';

/**
 * One status line on stderr while long work runs: plugin progress (percent or "working")
 * and capture counters. Drawn only on a terminal and at most ~10 times a second; when
 * stderr is piped nothing is printed, so logs and --json output stay clean.
 */
export interface ProgressView {
  plugin(name: string, percent: number, message?: string): void;
  capture(label: string, files: number, bytes: number, totalBytes?: number): void;
  done(): void;
}

const SPIN = ['|', '/', '-', '\\'];

function bar(percent: number, width = 20): string {
  const filled = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width);
  return `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(Math.round(percent)).padStart(3)}%`;
}

export function createProgressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (!stream.isTTY) return { plugin() {}, capture() {}, done() {} };
  let last = 0;
  let tick = 0;
  let shown = false;
  let captureStart = 0;
  // A line that came too soon after the last one is drawn a little later, not dropped:
  // the final state (100%, the last counters) must reach the screen.
  let pending: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const paint = (line: string): void => {
    last = Date.now();
    shown = true;
    const width = (stream.columns || 100) - 1;
    stream.write(`\r\x1b[K${line.slice(0, width)}`);
  };
  const draw = (line: string): void => {
    const wait = 100 - (Date.now() - last);
    if (wait <= 0) return paint(line);
    pending = line;
    timer ??= setTimeout(() => {
      timer = undefined;
      if (pending !== undefined) paint(pending);
      pending = undefined;
    }, wait).unref();
  };
  return {
    plugin(name, percent, message) {
      const head = percent < 0 ? `[${SPIN[tick++ % SPIN.length]}]` : bar(percent);
      draw(`${head} ${name}${message ? `: ${message}` : ''}`);
    },
    capture(label, files, bytes, totalBytes) {
      captureStart ||= Date.now();
      const secs = Math.max(0.001, (Date.now() - captureStart) / 1000);
      const rate = `${mib(bytes / secs)}/s`;
      const head = totalBytes ? bar((bytes / totalBytes) * 100) : `[${SPIN[tick++ % SPIN.length]}]`;
      draw(`${head} capture ${label}: ${files} files, ${mib(bytes)}, ${rate}`);
    },
    done() {
      clearTimeout(timer);
      timer = undefined;
      pending = undefined;
      if (shown) stream.write('\r\x1b[K');
      shown = false;
      captureStart = 0;
    },
  };
}
