/**
 * Every example in docs/templates.md renders as the page says: a `json` block (values), the
 * `handlebars` block after it (template), then a `text` block (exact output) or an `error`
 * block (start of the error message). Read from the doc, so the two cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderTemplate, TemplateError, type TemplateValue } from '../../core/templates/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = readFileSync(join(root, 'docs', 'templates.md'), 'utf8');

interface Example {
  line: number;
  values: Record<string, TemplateValue>;
  template: string;
  expected: { kind: 'text' | 'error'; body: string };
}

function examples(): Example[] {
  const blocks = [...doc.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1]!,
    body: m[2]!,
    line: doc.slice(0, m.index).split('\n').length,
  }));
  const out: Example[] = [];
  for (let i = 0; i + 2 < blocks.length; i++) {
    const [v, t, r] = [blocks[i]!, blocks[i + 1]!, blocks[i + 2]!];
    if (v.lang !== 'json' || t.lang !== 'handlebars' || (r.lang !== 'text' && r.lang !== 'error')) continue;
    out.push({ line: t.line, values: JSON.parse(v.body) as Record<string, TemplateValue>, template: t.body, expected: { kind: r.lang, body: r.body } });
    i += 2;
  }
  return out;
}

describe('docs/templates.md examples', () => {
  const all = examples();
  it('has examples of output and of errors', () => {
    expect(all.filter((e) => e.expected.kind === 'text').length).toBeGreaterThanOrEqual(4);
    expect(all.filter((e) => e.expected.kind === 'error').length).toBeGreaterThanOrEqual(3);
  });

  for (const ex of all) {
    it(`example at line ${ex.line} gives its ${ex.expected.kind}`, () => {
      const source = { name: `templates.md:${ex.line}`, text: ex.template };
      if (ex.expected.kind === 'text') {
        expect(renderTemplate(source, ex.values)).toBe(ex.expected.body);
      } else {
        let caught: unknown;
        try {
          renderTemplate(source, ex.values);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(TemplateError);
        expect((caught as TemplateError).message.startsWith(ex.expected.body.trim())).toBe(true);
      }
    });
  }

  it('the location the doc quotes for the missing variable is the real one', () => {
    const ex = all.find((e) => e.expected.body.startsWith('variable "hostname"'))!;
    try {
      renderTemplate({ name: 'NAME', text: ex.template }, ex.values);
    } catch (err) {
      expect((err as TemplateError).where).toBe('template "NAME" line 2, column 15');
      expect(doc).toContain('`template "NAME" line 2, column 15`');
    }
    expect.assertions(2);
  });
});
