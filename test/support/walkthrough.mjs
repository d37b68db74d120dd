// The runnable blocks of a walk-through page: fenced blocks whose info string is
// `sh walkthrough` (the steps) or `sh walkthrough-cleanup` (putting the machine back), each
// with the heading it stands under, in document order. The e2e test runs them as written.
import { readFileSync } from 'node:fs';

/** @returns {{ kind: 'step' | 'cleanup', heading: string, line: number, code: string }[]} */
export function walkthroughBlocks(text) {
  const blocks = [];
  const lines = text.split('\n');
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) {
      heading = h[1].trim();
      continue;
    }
    const fence = /^```(\S*)\s*(\S*)\s*$/.exec(line);
    if (!fence) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`line ${i + 1}: a fenced block that is never closed`);
    const tag = `${fence[1]} ${fence[2]}`.trim();
    if (tag === 'sh walkthrough' || tag === 'sh walkthrough-cleanup') {
      blocks.push({ kind: tag.endsWith('cleanup') ? 'cleanup' : 'step', heading, line: i + 1, code: lines.slice(i + 1, end).join('\n') });
    }
    i = end;
  }
  return blocks;
}

/**
 * One bash script of the blocks (steps, or cleanup), each announced on stderr by a marker line
 * `::block N LINE HEADING` so that a runner can time them; `upTo` stops after block N (1-based).
 */
export function walkthroughScript(file, { kind = 'step', upTo = Infinity, from = 1 } = {}) {
  const blocks = walkthroughBlocks(readFileSync(file, 'utf8')).filter((b) => b.kind === kind);
  const parts = [];
  blocks.forEach((b, i) => {
    const n = i + 1;
    // Every block runs, in one shell, so variables of earlier blocks are there for later ones; skipped blocks too, without their commands.
    if (n > upTo) return;
    if (n < from) return;
    parts.push(`printf '::block %s %s %s\\n' ${n} ${b.line} ${JSON.stringify(b.heading).replace(/\$/g, '\\$').replace(/`/g, '\\`')} >&2`, b.code);
  });
  return { script: `${parts.join('\n')}\n`, blocks };
}
