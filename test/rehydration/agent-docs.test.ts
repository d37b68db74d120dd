/**
 * Keeps docs/rehydration.md honest: every `<!-- excerpt: FILE#NAME -->` block is byte-identical
 * to the region between `rehydration:begin NAME` and `rehydration:end NAME` in FILE, every
 * JavaScript block is such an excerpt, every marked region is quoted, and linked docs exist.
 * agent.test.ts runs the quoted code on a real bundle.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../services/instance.js';

const root = projectRoot();
const doc = readFileSync(join(root, 'docs', 'rehydration.md'), 'utf8');
const MARKED = ['plugins/example/index.js', 'plugins/examplelogs/index.js'];

function regions(file: string): Map<string, string> {
  const out = new Map<string, string>();
  let name: string | undefined;
  let body: string[] = [];
  for (const line of readFileSync(join(root, file), 'utf8').split('\n')) {
    const m = /^\s*\/\/ rehydration:(begin|end) ([\w.-]+)\s*$/.exec(line);
    if (m?.[1] === 'begin') {
      name = m[2];
      body = [];
    } else if (m?.[1] === 'end') {
      out.set(m[2]!, body.join('\n'));
      name = undefined;
    } else if (name !== undefined) body.push(line);
  }
  return out;
}

function blocks(): { lang: string; text: string; excerpt?: string }[] {
  const lines = doc.split('\n');
  const out: { lang: string; text: string; excerpt?: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)$/.exec(lines[i]!);
    if (!open) continue;
    let end = i + 1;
    while (lines[end] !== '```') end++;
    const tag = /^<!-- excerpt: (\S+) -->$/.exec(lines[i - 1] ?? '');
    out.push({ lang: open[1]!, text: lines.slice(i + 1, end).join('\n'), ...(tag ? { excerpt: tag[1]! } : {}) });
    i = end;
  }
  return out;
}

describe('docs/rehydration.md', () => {
  it('quotes the plugins exactly, and every JavaScript block is a quote', () => {
    const all = blocks();
    expect(all.filter((b) => b.lang === 'js' && b.excerpt === undefined)).toEqual([]);
    for (const b of all.filter((x) => x.excerpt)) {
      const [file, name] = b.excerpt!.split('#') as [string, string];
      expect(b.text, b.excerpt).toBe(regions(file).get(name));
    }
  });

  it('quotes every marked region, so markers cannot go stale', () => {
    const quoted = new Set(blocks().flatMap((b) => (b.excerpt ? [b.excerpt] : [])));
    const missing = MARKED.flatMap((f) => [...regions(f).keys()].map((n) => `${f}#${n}`)).filter((k) => !quoted.has(k));
    expect(missing).toEqual([]);
  });

  it('links only to docs that exist', () => {
    for (const m of doc.matchAll(/\]\(([\w.-]+\.md)(?:#[^)]*)?\)/g)) expect(existsSync(join(root, 'docs', m[1]!)), m[1]).toBe(true);
  });
});
