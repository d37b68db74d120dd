/**
 * Plain metadata objects <-> catalog XML.
 *
 * The mapping is generic so that fields the metadata model gains later are stored without
 * changes here, yet the files stay pleasant to read and diff:
 * - an object is an element; its string, number and boolean fields are attributes, in the
 *   object's own key order (toPlain() builds keys in a fixed order, so output is stable);
 * - an object field is a child element named after the key;
 * - a list field is a child element named after the key holding one element per item
 *   (`<properties><property .../></properties>`); string items are text content.
 * XML has no types, so the reader needs to know which attributes are numbers or booleans
 * and which child elements are lists. Known fields come from the tables below; for any
 * other field the writer adds an `ab:types` / `ab:list` hint, so nothing is lost when the
 * model grows a field this table has not heard of.
 *
 * Writing builds the text directly (with escaping): xmlbuilder's object tree costs several
 * times more than the string for catalogs of thousands of files. Reading always goes
 * through a real, strict XML parser (saxes).
 */
import { SaxesParser } from 'saxes';
import { UserError } from '../core/errors.js';
import { MAX_DOCUMENT_BYTES, MAX_DOCUMENT_ELEMENTS, tooLarge, tooManyElements } from './limits.js';

export type Plain = Record<string, unknown>;

/** Namespace of the catalog's own hint attributes (`ab:types`, `ab:list`, `ab:file`). */
export const AB_NS = 'urn:abctl:catalog';

const NUMBER_FIELDS = new Set(['min', 'target', 'max', 'absoluteMax', 'memoryMiB', 'cpus', 'port', 'size', 'formatVersion']);
const BOOLEAN_FIELDS = new Set(['required', 'captured', 'secret', 'template', 'stateful']);
const LIST_FIELDS = new Set([
  'properties',
  'interfaces',
  'children',
  'inputs',
  'outputs',
  'contentResources',
  'fileSets',
  'excludes',
  'protocols',
  'connectionProperties',
  'appliances',
  'members',
  'connections',
  'vnets',
  'archives',
  'participants',
]);
/** Element name of one item of a list field; default `item`. */
const ITEM_NAMES: Readonly<Record<string, string>> = {
  properties: 'property',
  interfaces: 'interface',
  children: 'interface',
  inputs: 'input',
  outputs: 'output',
  contentResources: 'contentResource',
  fileSets: 'fileSet',
  excludes: 'exclude',
  protocols: 'protocol',
  connectionProperties: 'connectionProperty',
  appliances: 'appliance',
  members: 'member',
  connections: 'connection',
  vnets: 'vnet',
  archives: 'archive',
  participants: 'participant',
};

// ------------------------------------------------------------------ writing

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\n': '&#10;', '\r': '&#13;', '\t': '&#9;' };
// XML 1.0 cannot carry these at all, not even as character references.
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
/** Either of the above. */
const SPECIAL = /[&<>"\u0000-\u001F\uFFFE\uFFFF]/;

/** Attribute-safe text (also used for text content, where escaping quotes is harmless). */
export function escapeXml(text: string, where: string): string {
  // Most values need nothing: one test for both cases.
  if (!SPECIAL.test(text)) return text;
  if (FORBIDDEN.test(text)) {
    const ch = FORBIDDEN.exec(text)?.[0] ?? '';
    throw new UserError('CATALOG_VALUE_INVALID', `the value contains control character U+${ch.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}, which XML cannot store`, {
      where,
      hint: 'remove the control character from the value',
    });
  }
  // One pass over the text, copying the runs between escaped characters (the
  // replace-with-callback this replaces was a large part of rendering values like `a <&> "b"`).
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 62 || !ESCAPE_CODES[c]) continue;
    out += text.slice(last, i) + ESCAPE_CODES[c];
    last = i + 1;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** ESCAPES by character code (all of them are below `?`). */
const ESCAPE_CODES: readonly (string | undefined)[] = (() => {
  const table = new Array<string | undefined>(63).fill(undefined);
  for (const [ch, rep] of Object.entries(ESCAPES)) table[ch.charCodeAt(0)] = rep;
  return table;
})();

function kindOf(v: unknown): 'string' | 'number' | 'boolean' | 'list' | 'object' | 'none' {
  if (v === undefined || v === null) return 'none';
  if (Array.isArray(v)) return 'list';
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return t;
  if (t === 'object') return 'object';
  return 'none';
}

/** Expected scalar type of an attribute named `key` when no hint says otherwise. */
function expectedScalar(key: string): string {
  return SCALAR_TYPES.get(key) ?? 'string';
}

export interface RenderOptions {
  /** Turns a secret value into its stored form (encryption); called for `value` of objects with `secret: true`. `id` names its place. */
  readonly secret?: (clear: string, id: string) => string;
  /** Extra attributes on the root element (e.g. formatVersion), written first. */
  readonly rootAttributes?: Readonly<Record<string, string | number>>;
  /** Where to blame in errors (the file being written). */
  readonly where: string;
}

/** Identity of an element for secret bookkeeping: element names plus `[name]` where the object has one. */
function idOf(parent: string, element: string, obj: Plain): string {
  const n = obj['name'];
  return typeof n === 'string' ? `${parent}/${element}[${n}]` : `${parent}/${element}`;
}

function renderObject(out: string[], name: string, obj: Plain, indent: string, opts: RenderOptions, extraAttrs: string, parentId = ''): void {
  const id = idOf(parentId, name, obj);
  let attrs = extraAttrs;
  const hints: string[] = [];
  const nested: [string, unknown][] = [];
  const isSecret = obj['secret'] === true;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    const k = kindOf(v);
    if (k === 'none') continue;
    if (k === 'list' || k === 'object') {
      nested.push([key, v]);
      continue;
    }
    let text = String(v);
    if (k !== expectedScalar(key)) hints.push(`${key}:${k}`);
    if (isSecret && key === 'value' && k === 'string' && opts.secret) text = opts.secret(text, id);
    attrs += ` ${key}="${escapeXml(text, opts.where)}"`;
  }
  if (hints.length) attrs += ` ab:types="${hints.join(' ')}"`;
  if (nested.length === 0) {
    out.push(`${indent}<${name}${attrs}/>`);
    return;
  }
  out.push(`${indent}<${name}${attrs}>`);
  const inner = `${indent}  `;
  for (const [key, v] of nested) {
    if (Array.isArray(v)) renderList(out, key, v, inner, opts, LIST_FIELDS.has(key) ? '' : ' ab:list="true"', `${id}/${key}`);
    else renderObject(out, key, v as Plain, inner, opts, LIST_FIELDS.has(key) ? ' ab:list="false"' : '', id);
  }
  out.push(`${indent}</${name}>`);
}

function renderList(out: string[], key: string, list: readonly unknown[], indent: string, opts: RenderOptions, extraAttrs: string, id: string): void {
  if (list.length === 0) {
    out.push(`${indent}<${key}${extraAttrs}/>`);
    return;
  }
  out.push(`${indent}<${key}${extraAttrs}>`);
  const item = ITEM_NAMES[key] ?? 'item';
  const inner = `${indent}  `;
  for (const v of list) {
    const k = kindOf(v);
    if (k === 'object') renderObject(out, item, v as Plain, inner, opts, '', id);
    else if (k === 'list') renderList(out, item, v as unknown[], inner, opts, ' ab:list="true"', `${id}/${item}`);
    else if (k === 'none') throw new UserError('CATALOG_VALUE_INVALID', `list "${key}" contains an empty (null) item`, { where: opts.where });
    else {
      const typeAttr = k === 'string' ? '' : ` ab:type="${k}"`;
      out.push(`${inner}<${item}${typeAttr}>${escapeXml(String(v), opts.where)}</${item}>`);
    }
  }
  out.push(`${indent}</${key}>`);
}

/** A whole document: `<?xml ...?>`, root element `rootName` carrying the object `obj`. */
export function renderDocument(rootName: string, obj: Plain, opts: RenderOptions): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  let extra = '';
  for (const [k, v] of Object.entries(opts.rootAttributes ?? {})) extra += ` ${k}="${escapeXml(String(v), opts.where)}"`;
  extra += ` xmlns:ab="${AB_NS}"`;
  renderObject(out, rootName, obj, '', opts, extra);
  out.push('');
  // Every element starts a line, so only a document of more lines than the limit needs counting.
  if (out.length > MAX_DOCUMENT_ELEMENTS) {
    let elements = 0;
    for (const line of out) {
      const lt = line.indexOf('<');
      if (lt >= 0 && line.charCodeAt(lt + 1) !== 47 /* "/" */) elements++;
    }
    if (elements - 1 > MAX_DOCUMENT_ELEMENTS) throw tooManyElements(opts.where, true); // - 1: the XML declaration
  }
  const text = out.join('\n');
  // A UTF-8 byte is at most 3 per UTF-16 unit: shorter texts cannot exceed the limit.
  if (text.length * 3 > MAX_DOCUMENT_BYTES) {
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_DOCUMENT_BYTES) throw tooLarge(bytes, opts.where, true);
  }
  return text;
}

// ------------------------------------------------------------------ reading

export interface ParsedDocument {
  readonly rootName: string;
  /** Root attributes that are not fields of the object (formatVersion, xmlns:*). */
  readonly rootAttributes: Readonly<Record<string, string>>;
  readonly plain: Plain;
}

export interface ParseOptions {
  readonly secret?: (stored: string, id: string) => string;
  readonly where: string;
  /** Root attributes that belong to the file, not the object. */
  readonly rootOnly?: readonly string[];
}

function invalid(message: string, where: string): UserError {
  return new UserError('CATALOG_FILE_INVALID', message, {
    where,
    hint: 'fix the file by hand or restore it from a backup; the rest of the catalog is not affected',
  });
}

function parseHints(attr: string | undefined, path: string, where: string): Map<string, string> | undefined {
  if (!attr) return undefined;
  const map = new Map<string, string>();
  for (const part of attr.trim().split(/\s+/)) {
    const [k, t] = part.split(':');
    if (!k || (t !== 'number' && t !== 'boolean' && t !== 'string')) throw invalid(`${path}: bad ab:types entry "${part}"`, where);
    map.set(k, t);
  }
  return map;
}

/** `at` is the element, named in a message only when the value is bad. */
function scalar(text: string, type: string, key: string, at: Frame, where: string): string | number | boolean {
  if (type === 'number') {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw invalid(`${pathOf(at)}: attribute ${key}="${text}" must be a number`, where);
    return n;
  }
  if (type === 'boolean') {
    if (text !== 'true' && text !== 'false') throw invalid(`${pathOf(at)}: attribute ${key}="${text}" must be true or false`, where);
    return text === 'true';
  }
  return text;
}

/** `__proto__` as a field name would change the object's prototype instead of adding a field. */
function checkKey(key: string, frame: Frame, where: string): void {
  if (key === '__proto__') throw invalid(`${pathOf(frame)}: "__proto__" cannot be a field name`, where);
}

/**
 * What an open element is becoming:
 * - `object`: its attributes are fields, each child element a field;
 * - `list`: each child element is one item;
 * - `item`: a list item without attributes: a string (its text, layout included) unless a
 *   child element turns up, which makes it an object;
 * - `scalar`: a list item with `ab:type`, its text converted at the end.
 * Paths (for messages) and ids (for secrets) are built from the parent chain only when
 * needed: building them for every element was a good part of the conversion time.
 */
interface FrameBase {
  readonly parent: Frame | undefined;
  readonly name: string;
  /** Position among same-named items of a list (1-based); 0 outside lists. */
  readonly n: number;
}
interface ItemFrame extends FrameBase {
  readonly list: unknown[];
  readonly index: number;
  readonly type: string;
  text: string;
  cdata: boolean;
}
type Frame =
  | (FrameBase & { readonly kind: 'object'; readonly obj: Plain })
  | (FrameBase & { readonly kind: 'list'; readonly list: unknown[]; counts: Map<string, number> | undefined })
  | (ItemFrame & { readonly kind: 'item' })
  | (ItemFrame & { readonly kind: 'scalar' });

/** Where in the document: `appliance/properties/property[3]`. */
function pathOf(f: Frame): string {
  if (!f.parent) return f.name;
  return f.n > 0 ? `${pathOf(f.parent)}/${f.name}[${f.n}]` : `${pathOf(f.parent)}/${f.name}`;
}

/** Identity for secret bookkeeping, the same as the writer's (element names plus `[name]` of named objects). */
function idOfFrame(f: Frame): string {
  const base = f.parent ? idOfFrame(f.parent) : '';
  return f.kind === 'object' ? idOf(base, f.name, f.obj) : `${base}/${f.name}`;
}

/**
 * Fills an object frame's fields from its attributes (typed by the tables or the `ab:types`
 * hint), secrets opened. Returns how many attributes the element has, hints included.
 */
function fillFromAttributes(frame: Frame & { kind: 'object' }, attrs: Readonly<Record<string, string>>, opts: ParseOptions, skip: ReadonlySet<string>): number {
  const obj = frame.obj;
  const hintAttr = attrs['ab:types'];
  const hints = hintAttr === undefined ? undefined : parseHints(hintAttr, pathOf(frame), opts.where);
  let count = 0;
  for (const key in attrs) {
    count++;
    if (key.includes(':') || key === 'xmlns' || skip.has(key)) continue;
    checkKey(key, frame, opts.where);
    const text = attrs[key] ?? '';
    const type = hints?.get(key) ?? SCALAR_TYPES.get(key);
    obj[key] = type === undefined ? text : scalar(text, type, key, frame, opts.where);
  }
  if (obj['secret'] === true && typeof obj['value'] === 'string' && opts.secret) obj['value'] = opts.secret(obj['value'], idOfFrame(frame));
  return count;
}

const EMPTY: ReadonlySet<string> = new Set();

/** Attribute names whose values are not strings, by type (the reader's view of NUMBER_FIELDS and BOOLEAN_FIELDS). */
const SCALAR_TYPES: ReadonlyMap<string, string> = new Map([...[...NUMBER_FIELDS].map((k) => [k, 'number'] as const), ...[...BOOLEAN_FIELDS].map((k) => [k, 'boolean'] as const)]);

/** Text that counts for a typed item: whitespace-only text is layout, unless it came from CDATA. */
function contentText(f: { text: string; cdata: boolean }): string {
  return f.cdata || /\S/.test(f.text) ? f.text : '';
}

/** The frame for a child element `name` of the open frame `parent` (which may become an object first). */
function openChild(parent: Frame, stack: Frame[], name: string, attrs: Readonly<Record<string, string>>, opts: ParseOptions): Frame {
  if (parent.kind === 'item' || parent.kind === 'scalar') {
    // A list item with child elements is an object after all (a typed one never is).
    if (parent.kind === 'scalar') throw invalid(`${pathOf(parent)}: a typed list item cannot have child elements`, opts.where);
    const upgraded: Frame = { kind: 'object', parent: parent.parent, name: parent.name, n: parent.n, obj: {} };
    parent.list[parent.index] = upgraded.obj;
    stack[stack.length - 1] = upgraded;
    return openChild(upgraded, stack, name, attrs, opts);
  }
  if (parent.kind === 'object') {
    if (name in parent.obj) throw invalid(`${pathOf(parent)}/${name}: "${name}" is given more than once`, opts.where);
    const hint = attrs['ab:list'];
    if (hint === undefined ? LIST_FIELDS.has(name) : hint === 'true') {
      const frame: Frame = { kind: 'list', parent, name, n: 0, list: [], counts: undefined };
      checkKey(name, frame, opts.where);
      parent.obj[name] = frame.list;
      return frame;
    }
    const frame: Frame = { kind: 'object', parent, name, n: 0, obj: {} };
    checkKey(name, frame, opts.where);
    parent.obj[name] = frame.obj;
    fillFromAttributes(frame, attrs, opts, EMPTY);
    return frame;
  }
  const counts = (parent.counts ??= new Map());
  const n = (counts.get(name) ?? 0) + 1;
  counts.set(name, n);
  const list = parent.list;
  if (attrs['ab:list'] === 'true') {
    const frame: Frame = { kind: 'list', parent, name, n, list: [], counts: undefined };
    list.push(frame.list);
    return frame;
  }
  const type = attrs['ab:type'];
  if (type !== undefined) {
    list.push(undefined);
    return { kind: 'scalar', parent, name, n, list, index: list.length - 1, type, text: '', cdata: false };
  }
  const frame: Frame = { kind: 'object', parent, name, n, obj: {} };
  if (fillFromAttributes(frame, attrs, opts, EMPTY) === 0) {
    // No attributes at all: a string item, unless child elements turn up.
    list.push('');
    return { kind: 'item', parent, name, n, list, index: list.length - 1, type: 'string', text: '', cdata: false };
  }
  list.push(frame.obj);
  return frame;
}

function closeFrame(f: Frame, where: string): void {
  if (f.kind === 'item') f.list[f.index] = f.text;
  else if (f.kind === 'scalar') f.list[f.index] = scalar(contentText(f), f.type, 'value', f, where);
}

/** The first XML syntax error of `text`, with its line and column. */
function syntaxError(text: string, where: string): UserError {
  const parser = new SaxesParser({ position: true });
  let found: UserError | undefined;
  parser.on('error', (err: Error) => {
    // saxes prefixes "line:column: "; say it the way people read it.
    const message = err.message.replace(/^\d+:\d+: /, '').replace(/\.$/, '');
    found = invalid(`not well-formed XML: ${message}, Line: ${parser.line}, Column: ${parser.column}`, where);
    throw found;
  });
  try {
    parser.write(text).close();
  } catch (err) {
    if (err !== found) throw err;
  }
  return found ?? invalid('not well-formed XML', where);
}

/**
 * Parses one catalog document. XML syntax errors come back as CATALOG_FILE_INVALID naming
 * the file, with the parser's line and column.
 *
 * The parser is saxes, a strict XML 1.0 parser (well-formedness, undefined entities,
 * duplicate attributes, characters XML forbids). Elements become plain values while the
 * parser runs, without an intermediate tree: for the catalog's thousands of small
 * documents this is several times faster than xml2js (see docs/catalog.md). A syntax
 * error anywhere in the file wins over a content error found earlier, so a broken file
 * is always reported as broken XML.
 */
export function parseDocument(text: string, opts: ParseOptions): ParsedDocument {
  if (text.trim() === '') throw invalid('the file is empty', opts.where);
  // Position tracking costs ~10% of the parse; only a broken file needs it, so that is parsed again with it.
  const parser = new SaxesParser({ position: false });
  const skip = new Set(opts.rootOnly ?? []);
  const stack: Frame[] = [];
  let rootName: string | undefined;
  let plain: Plain | undefined;
  const rootAttributes: Record<string, string> = {};
  let contentError: unknown;
  parser.on('error', () => {
    throw syntaxError(text, opts.where);
  });
  let elements = 0;
  parser.on('opentag', (tag) => {
    if (++elements > MAX_DOCUMENT_ELEMENTS) throw tooManyElements(opts.where);
    if (contentError !== undefined) return;
    const attrs = tag.attributes as Record<string, string>;
    try {
      const parent = stack[stack.length - 1];
      if (parent) {
        stack.push(openChild(parent, stack, tag.name, attrs, opts));
        return;
      }
      rootName = tag.name;
      for (const k in attrs) if (skip.has(k) || k.startsWith('xmlns')) rootAttributes[k] = attrs[k] ?? '';
      const frame: Frame = { kind: 'object', parent: undefined, name: tag.name, n: 0, obj: {} };
      fillFromAttributes(frame, attrs, opts, skip);
      plain = frame.obj;
      stack.push(frame);
    } catch (err) {
      contentError = err;
    }
  });
  // saxes reports a self-closing tag as an open and a close, like any other element.
  parser.on('closetag', () => {
    if (contentError !== undefined) return;
    const f = stack.pop();
    try {
      if (f) closeFrame(f, opts.where);
    } catch (err) {
      contentError = err;
    }
  });
  // Text matters only in list items; elsewhere it is layout (or stray text, ignored as before).
  parser.on('text', (t) => {
    const f = stack[stack.length - 1];
    if (f && (f.kind === 'item' || f.kind === 'scalar')) f.text += t;
  });
  parser.on('cdata', (t) => {
    const f = stack[stack.length - 1];
    if (f && (f.kind === 'item' || f.kind === 'scalar')) {
      f.text += t;
      f.cdata = true;
    }
  });
  parser.write(text).close();
  if (contentError !== undefined) throw contentError;
  if (rootName === undefined || plain === undefined) throw invalid('the file has no root element', opts.where);
  return { rootName, rootAttributes, plain };
}
