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
 * through a real XML parser (xml2js).
 */
import { Parser } from 'xml2js';
import { UserError } from '../core/errors.js';

export type Plain = Record<string, unknown>;

/** Namespace of the catalog's own hint attributes (`ab:types`, `ab:list`, `ab:file`). */
export const AB_NS = 'urn:abctl:catalog';

const NUMBER_FIELDS = new Set(['min', 'target', 'max', 'absoluteMax', 'memoryMiB', 'cpus', 'port', 'size', 'formatVersion']);
const BOOLEAN_FIELDS = new Set(['required', 'captured', 'secret']);
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
};

// ------------------------------------------------------------------ writing

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\n': '&#10;', '\r': '&#13;', '\t': '&#9;' };
const NEEDS_ESCAPE = /[&<>"\n\r\t]/;
// XML 1.0 cannot carry these at all, not even as character references.
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** Attribute-safe text (also used for text content, where escaping quotes is harmless). */
export function escapeXml(text: string, where: string): string {
  if (FORBIDDEN.test(text)) {
    const ch = FORBIDDEN.exec(text)?.[0] ?? '';
    throw new UserError('CATALOG_VALUE_INVALID', `the value contains control character U+${ch.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}, which XML cannot store`, {
      where,
      hint: 'remove the control character from the value',
    });
  }
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(/[&<>"\n\r\t]/g, (c) => ESCAPES[c] ?? c);
}

function kindOf(v: unknown): 'string' | 'number' | 'boolean' | 'list' | 'object' | 'none' {
  if (v === undefined || v === null) return 'none';
  if (Array.isArray(v)) return 'list';
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return t;
  if (t === 'object') return 'object';
  return 'none';
}

/** Expected scalar type of an attribute named `key` when no hint says otherwise. */
function expectedScalar(key: string): 'string' | 'number' | 'boolean' {
  return NUMBER_FIELDS.has(key) ? 'number' : BOOLEAN_FIELDS.has(key) ? 'boolean' : 'string';
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
  return out.join('\n');
}

// ------------------------------------------------------------------ reading

/**
 * One element as xml2js gives it with explicitArray and without explicitChildren: a
 * string for an element with text only (or '' when empty), else attributes under `$`,
 * text under `_` and each child name holding the list of those children. Grouping by
 * name is safe here because every list uses a single item element name, and it is
 * markedly cheaper than keeping document order for all children.
 */
type XmlNode = string | { $?: Record<string, string>; _?: string; [child: string]: unknown };

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

function parseHints(attr: string | undefined, path: string, where: string): Map<string, string> {
  const map = new Map<string, string>();
  if (!attr) return map;
  for (const part of attr.trim().split(/\s+/)) {
    const [k, t] = part.split(':');
    if (!k || (t !== 'number' && t !== 'boolean' && t !== 'string')) throw invalid(`${path}: bad ab:types entry "${part}"`, where);
    map.set(k, t);
  }
  return map;
}

function scalar(text: string, type: string, key: string, path: string, where: string): string | number | boolean {
  if (type === 'number') {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw invalid(`${path}: attribute ${key}="${text}" must be a number`, where);
    return n;
  }
  if (type === 'boolean') {
    if (text !== 'true' && text !== 'false') throw invalid(`${path}: attribute ${key}="${text}" must be true or false`, where);
    return text === 'true';
  }
  return text;
}

function attrsOf(node: XmlNode): Record<string, string> {
  return typeof node === 'string' ? {} : (node.$ ?? {});
}

function childrenOf(node: XmlNode): [string, XmlNode[]][] {
  if (typeof node === 'string') return [];
  const out: [string, XmlNode[]][] = [];
  for (const key of Object.keys(node)) if (key !== '$' && key !== '_') out.push([key, node[key] as XmlNode[]]);
  return out;
}

function readObject(node: XmlNode, name: string, path: string, opts: ParseOptions, skip: ReadonlySet<string>, parentId = ''): Plain {
  const attrs = attrsOf(node);
  const hints = parseHints(attrs['ab:types'], path, opts.where);
  const obj: Plain = {};
  for (const key of Object.keys(attrs)) {
    if (key.includes(':') || key === 'xmlns' || skip.has(key)) continue;
    obj[key] = scalar(attrs[key] ?? '', hints.get(key) ?? expectedScalar(key), key, path, opts.where);
  }
  const id = idOf(parentId, name, obj);
  if (obj['secret'] === true && typeof obj['value'] === 'string' && opts.secret) {
    obj['value'] = opts.secret(obj['value'], id);
  }
  for (const [key, list] of childrenOf(node)) {
    const childPath = `${path}/${key}`;
    if (key in obj || list.length !== 1) throw invalid(`${childPath}: "${key}" is given more than once`, opts.where);
    const child = list[0] as XmlNode;
    const hint = attrsOf(child)['ab:list'];
    const isList = hint === undefined ? LIST_FIELDS.has(key) : hint === 'true';
    obj[key] = isList ? readList(child, childPath, opts, `${id}/${key}`) : readObject(child, key, childPath, opts, EMPTY, id);
  }
  return obj;
}

const EMPTY: ReadonlySet<string> = new Set();

function readList(node: XmlNode, path: string, opts: ParseOptions, id: string): unknown[] {
  const out: unknown[] = [];
  for (const [name, items] of childrenOf(node)) {
    for (const [i, item] of items.entries()) {
      const itemPath = `${path}/${name}[${i + 1}]`;
      if (typeof item === 'string') {
        out.push(item);
        continue;
      }
      const a = item.$ ?? {};
      if (a['ab:list'] === 'true') out.push(readList(item, itemPath, opts, `${id}/${name}`));
      else if (a['ab:type'] !== undefined) out.push(scalar(item._ ?? '', a['ab:type'], 'value', itemPath, opts.where));
      else out.push(readObject(item, name, itemPath, opts, EMPTY, id));
    }
  }
  return out;
}

/**
 * Parses one catalog document. XML syntax errors come back as CATALOG_FILE_INVALID naming
 * the file, with the parser's line and column.
 */
export function parseDocument(text: string, opts: ParseOptions): ParsedDocument {
  let root: Record<string, XmlNode> | undefined;
  // explicitArray keeps every child a list, so a repeated field is noticed instead of overwritten.
  let failure: unknown;
  const parser = new Parser({ explicitArray: true, async: false, strict: true, normalize: false, trim: false, emptyTag: '' });
  parser.parseString(text, (err: unknown, result: unknown) => {
    failure = err;
    root = result as Record<string, XmlNode> | undefined;
  });
  if (failure) {
    const msg = failure instanceof Error ? failure.message : String(failure);
    throw invalid(`not well-formed XML: ${msg.replace(/\n/g, ', ')}`, opts.where);
  }
  if (!root || typeof root !== 'object') throw invalid('the file is empty', opts.where);
  const [rootName, node] = Object.entries(root)[0] ?? [];
  if (!rootName || !node) throw invalid('the file has no root element', opts.where);
  const rootAttributes: Record<string, string> = {};
  const skip = new Set(opts.rootOnly ?? []);
  for (const [k, v] of Object.entries(attrsOf(node))) if (skip.has(k) || k.startsWith('xmlns')) rootAttributes[k] = v;
  const plain = readObject(node, rootName, rootName, opts, skip);
  return { rootName, rootAttributes, plain };
}
