/**
 * The content builder's text work (no I/O): a config file's text with chosen values turned into
 * template variables, and everything else kept literal under the strict handlebars of
 * templates.ts. Written here rather than taken from a library: no escaper knows this dialect.
 *
 * Handlebars' lexer rules this relies on: `\{{` starts literal text that runs to the next `{{`;
 * literal text ending in `\\` before `{{` loses one backslash and the mustache stays a mustache;
 * `{{{` opens a triple mustache (so a `{` just before a variable cannot be written), and a `}`
 * just after one would make `}}}`, so an empty comment `{{!}}` goes between them.
 * `build` renders the result back and compares, so a case these rules miss fails loudly.
 */
import { UserError } from '../errors.js';
import { checkPropertyName } from '../metadata/names.js';
import type { BuiltContent, ContentVariable, ContentVariableOptions } from '../util-contract.js';
import { FORMAT_HELPERS, KNOWN_HELPERS } from './helpers.js';
import { listTemplateVariables, renderTemplate } from './templates.js';

interface Rule {
  readonly name: string;
  readonly match: string | RegExp;
  readonly options: ContentVariableOptions;
}

interface Hit {
  readonly start: number;
  readonly end: number;
  readonly rule: Rule;
}

const SIMPLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** How a variable is named inside a mustache: bare, in brackets, or through `prop`. */
function reference(name: string): string {
  if (SIMPLE_NAME.test(name) && !KNOWN_HELPERS.includes(name)) return name;
  // Helper names read as helper calls even in brackets; `prop` takes any name.
  return name.includes(']') || KNOWN_HELPERS.includes(name) ? `(prop "${name}")` : `[${name}]`;
}

/** `}` right after `}}` would read as `}}}`: an empty comment between them keeps the brace literal. */
function mustache(rule: Rule, braceAfter: boolean): string {
  const ref = reference(rule.name);
  const body = rule.options.helper ? `${rule.options.helper} ${ref}` : ref.startsWith('(') ? `prop "${rule.name}"` : ref;
  return braceAfter ? `{{${body}}}{{!}}` : `{{${body}}}`;
}

function matchesOf(text: string, rule: Rule): Hit[] {
  const hits: Hit[] = [];
  if (typeof rule.match === 'string') {
    if (rule.match === '') throw new UserError('UTIL_CONTENT_INVALID', `variable "${rule.name}": the text to replace is empty`, { hint: 'give the literal value as it appears in the file' });
    for (let at = text.indexOf(rule.match); at !== -1; at = text.indexOf(rule.match, at + rule.match.length)) {
      hits.push({ start: at, end: at + rule.match.length, rule });
    }
    return hits;
  }
  const flags = rule.match.flags.includes('g') ? rule.match.flags : `${rule.match.flags}g`;
  // `d` gives each group's indices, so a capture group is replaced where it is, not searched for again.
  const re = new RegExp(rule.match.source, flags.includes('d') ? flags : `${flags}d`);
  for (const m of text.matchAll(re)) {
    const span = m.indices?.[1] ?? m.indices?.[0];
    if (span === undefined || span[1] === span[0]) {
      if (m[0] === '') throw new UserError('UTIL_CONTENT_INVALID', `variable "${rule.name}": ${String(rule.match)} matches empty text`, { hint: 'make the pattern match at least one character' });
      continue;
    }
    hits.push({ start: span[0], end: span[1], rule });
  }
  return hits;
}

function lineOf(text: string, at: number): number {
  let line = 1;
  for (let i = 0; i < at; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Literal text for the template: every `{{` escaped, a backslash before it kept. */
function literal(text: string): string {
  let out = '';
  let from = 0;
  for (let at = text.indexOf('{{'); at !== -1; at = text.indexOf('{{', at + 2)) {
    out += text.slice(from, at);
    // A literal backslash just before the escape would turn `\{{` into `\\{{` (a mustache):
    // one more backslash and an empty comment end the text there, then the escape follows.
    if (out.endsWith('\\')) out += '\\{{!}}';
    out += '\\{{';
    from = at + 2;
  }
  return out + text.slice(from);
}

/** Builds the template of `text` with `rules`; pure. `source` names the file in messages. */
export function buildContentTemplate(text: string, rules: readonly Rule[], source: string, name: string): Pick<BuiltContent, 'content' | 'variables'> {
  const hits: Hit[] = [];
  for (const rule of rules) {
    const found = matchesOf(text, rule);
    if (found.length === 0 && !rule.options.optional) {
      throw new UserError('UTIL_CONTENT_NO_MATCH', `variable "${rule.name}": ${typeof rule.match === 'string' ? JSON.stringify(rule.match) : String(rule.match)} is not in ${source}`, {
        hint: 'check the value the plugin read, or pass { optional: true } when the setting may be absent',
      });
    }
    hits.push(...found);
  }
  hits.sort((a, b) => a.start - b.start);
  for (let i = 1; i < hits.length; i++) {
    const [a, b] = [hits[i - 1]!, hits[i]!];
    if (b.start < a.end) {
      throw new UserError('UTIL_CONTENT_OVERLAP', `variables "${a.rule.name}" and "${b.rule.name}" both match text at line ${lineOf(text, b.start)} of ${source}`, {
        hint: 'make the patterns more precise (a RegExp with a capture group replaces only the group)',
      });
    }
  }
  let out = '';
  let from = 0;
  const variables = new Map<string, { value: string; count: number }>();
  for (const hit of hits) {
    if (text[hit.start - 1] === '{') {
      throw new UserError('UTIL_CONTENT_INVALID', `variable "${hit.rule.name}" would follow a "{" at line ${lineOf(text, hit.start)} of ${source}, which a template cannot express`, {
        hint: 'replace a wider text that includes the "{" (e.g. a RegExp whose capture group starts at the brace)',
      });
    }
    let chunk = literal(text.slice(from, hit.start));
    // Literal text ending in a backslash would escape the mustache: one more is eaten by the lexer.
    if (chunk.endsWith('\\')) chunk += '\\';
    out += chunk + mustache(hit.rule, text[hit.end] === '}');
    from = hit.end;
    const value = text.slice(hit.start, hit.end);
    const seen = variables.get(hit.rule.name);
    if (seen && seen.value !== value) {
      // One property gives one value: rendering would write the first text in both places.
      throw new UserError('UTIL_CONTENT_INVALID', `variable "${hit.rule.name}" matches different texts in ${source}: ${JSON.stringify(seen.value)} and ${JSON.stringify(value)} (line ${lineOf(text, hit.start)})`, {
        hint: 'use a separate variable for each setting, or a pattern that matches only one of them',
      });
    }
    if (seen) seen.count++;
    else variables.set(hit.rule.name, { value, count: 1 });
  }
  out += literal(text.slice(from));

  const list: ContentVariable[] = [...variables].map(([n, v]) => ({ name: n, value: v.value, count: v.count }));
  verify(out, text, list, rules.every((r) => r.options.helper === undefined), source, name);
  return { content: out, variables: list };
}

/** The template must name exactly its variables and, without helpers, give the file back from their values. */
function verify(template: string, original: string, variables: readonly ContentVariable[], plain: boolean, source: string, name: string): void {
  const listed = new Set(listTemplateVariables({ name, text: template }).map((v) => v.name));
  const expected = new Set(variables.map((v) => v.name));
  const same = listed.size === expected.size && [...listed].every((n) => expected.has(n));
  // A helper changes the value on the way out (xml escapes it), so only plain templates can be compared.
  const back = same && plain ? renderTemplate({ name, text: template }, Object.fromEntries(variables.map((v) => [v.name, v.value]))) : original;
  if (!same || back !== original) {
    throw new UserError('UTIL_CONTENT_INVALID', `the template made from ${source} does not give the file back (${same ? 'text differs' : 'variables differ'})`, {
      hint: 'replace a wider text around the value (a backslash or brace next to it may be the cause)',
    });
  }
}

/** Checks a variable declaration before any text is read. */
export function checkContentVariable(name: string, match: unknown, options: ContentVariableOptions): void {
  checkPropertyName(name);
  if (typeof match !== 'string' && !(match instanceof RegExp)) {
    throw new UserError('UTIL_CONTENT_INVALID', `variable "${name}": the match must be a string or a RegExp, not ${typeof match}`);
  }
  if (options.helper !== undefined && !(options.helper in FORMAT_HELPERS)) {
    throw new UserError('UTIL_CONTENT_INVALID', `variable "${name}": helper "${String(options.helper)}" does not exist`, { hint: `use one of ${Object.keys(FORMAT_HELPERS).join(', ')}` });
  }
}

export type { Rule as ContentRule };
