/**
 * The plan file: readable XML that mirrors the assembly, one element per object, with
 * comments that say what each part means and how to change it.
 *
 * The writer builds the text itself rather than through xml2js's Builder because the
 * plan carries comments (what a synthetic property means, how to set a password), which
 * the Builder cannot write. Reading streams through saxes (PlanReader), with the line of
 * every element recorded so messages can point at `plan.xml:12`, within the limits of limits.ts.
 *
 * Value conventions: a `value` attribute that is absent means "no value in the plan, the
 * metadata's applies"; `value=""` is the empty string. Empty `file`, `hostname`,
 * `address` and `target` attributes mean "not given yet".
 *
 * Passwords are never written in clear: a password with a value is written encrypted by
 * the SecretCodec (the instance key), one without is written without a value and with a
 * comment naming `abctl setPlanPassword`.
 */
import { SaxesParser } from 'saxes';
import { UserError } from '../errors.js';
import {
  KIND_LABELS,
  PLAN_CHILD_KINDS,
  PLAN_FORMAT_VERSION,
  PLAN_NODE_KINDS,
  PLAN_ROOT,
  syntheticSpec,
  type DeploymentPlan,
  type PlanFileRef,
  type PlanHost,
  type PlanMountTarget,
  type PlanNode,
  type PlanNodeKind,
  type PlanProperty,
  type PlanSynthetic,
} from './model.js';
import { MAX_PLAN_BYTES, MAX_PLAN_ELEMENTS, MAX_PLAN_VALUE_CHARS, planTooLarge, planTooManyElements, planValueTooLong } from './limits.js';
import { formatObjectPath, type ObjectPath, type PartKind } from './object-path.js';

/** Encryption of password values in plan files (the catalog's per-instance key). */
export interface SecretCodec {
  encrypt(clear: string): string;
  /** Throws (a UserError) when the stored text cannot be decrypted; `where` names the place. */
  decrypt(stored: string, where: string): string;
  /** Whether stored text is in the encrypted form. */
  isEncrypted(stored: string): boolean;
}

export interface FormatOptions {
  /** Encrypts password values; without it, password values are left out (the metadata's apply). */
  readonly secrets?: SecretCodec;
  /** Plan file name, used in the how-to comments. */
  readonly file?: string;
}

// ------------------------------------------------------------------ writing

const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function attr(text: string): string {
  if (FORBIDDEN.test(text)) {
    throw new UserError('PLAN_VALUE_INVALID', 'a value contains a control character, which an XML file cannot hold', { hint: 'remove the control character' });
  }
  return text.replace(/[&<>"\n\r\t]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\n': '&#10;', '\r': '&#13;', '\t': '&#9;' })[c] ?? c);
}

/** Comment text cannot contain `--` nor end in `-`. */
function commentText(text: string): string {
  return text.replace(/--/g, '- -').replace(/\s+/g, ' ').trim().replace(/-$/, '- ');
}

function comment(text: string): string {
  return `<!-- ${commentText(text)} -->`;
}

function element(name: string, attrs: readonly [string, string | undefined][]): string {
  const a = attrs.filter((x): x is [string, string] => x[1] !== undefined).map(([k, v]) => ` ${k}="${attr(v)}"`);
  return `<${name}${a.join('')}/>`;
}

interface WriteContext {
  readonly out: string[];
  readonly opts: FormatOptions;
  readonly assembly: string;
}

function passwordHint(ctx: WriteContext, path: ObjectPath, property: string): string {
  // XML comments cannot hold "--"; abctl accepts long options with one dash too.
  const pathOpt = path.members.length || path.part ? ` -path ${formatObjectPath(path)}` : '';
  return `abctl setPlanPassword -assembly ${ctx.assembly} -plan ${ctx.opts.file ?? 'PLAN'}${pathOpt} -property ${property}`;
}

function writeProperty(ctx: WriteContext, indent: string, path: ObjectPath, p: PlanProperty): void {
  let value = p.value;
  if (p.type === 'password') {
    if (value !== undefined && ctx.opts.secrets) {
      value = ctx.opts.secrets.encrypt(value);
    } else {
      ctx.out.push(`${indent}${comment(`password${value === undefined ? ' without a value' : ' left out (no key to encrypt it)'}: never typed in here; set with ${passwordHint(ctx, path, p.name)}`)}`);
      value = undefined;
    }
  }
  ctx.out.push(`${indent}${element('property', [['name', p.name], ['type', p.type], ['required', String(p.required)], ['value', value], ['description', p.description || undefined]])}`);
}

function writeFileRef(ctx: WriteContext, indent: string, f: PlanFileRef): void {
  ctx.out.push(`${indent}${element('fileRef', [['name', f.name], ['required', String(f.required)], ['current', f.current], ['file', f.file ?? ''], ['description', f.description || undefined]])}`);
}

function childPath(path: ObjectPath, kind: PlanNodeKind, name: string): ObjectPath {
  if (kind === 'input' || kind === 'output' || kind === 'interface') return { members: path.members, part: { kind: kind as PartKind, name } };
  return { members: [...path.members, name] };
}

function writeBody(ctx: WriteContext, n: PlanNode, indent: string, path: ObjectPath): void {
  const out = ctx.out;
  if (n.instances) {
    out.push(`${indent}${element('instances', [['count', n.instances.count], ['min', String(n.instances.min)], ['max', String(n.instances.max)]])}`);
  }
  for (const s of n.synthetic) {
    const spec = syntheticSpec(s.name);
    if (spec) out.push(`${indent}${comment(`${s.name} (${spec.type}, plan only): ${spec.meaning}`)}`);
    out.push(`${indent}${element('synthetic', [['name', s.name], ['value', s.value]])}`);
  }
  for (const h of n.hosts) out.push(`${indent}${element('host', [['instance', h.instance], ['hostname', h.hostname], ['address', h.address], ['target', h.target]])}`);
  for (const m of n.mountTargets) {
    out.push(`${indent}${comment(`NFS volume for shared file set "${m.fileSet}" as server:/export/path${m.captured ? ' (created and filled at the first deployment)' : ' (an existing volume; it is mounted, not filled)'}`)}`);
    out.push(`${indent}${element('mountTarget', [['fileSet', m.fileSet], ['target', m.target], ['captured', String(m.captured)]])}`);
  }
  for (const p of n.properties) writeProperty(ctx, indent, path, p);
  if (n.fileRefs.length) out.push(`${indent}${comment('fileRef: set file="/local/path" to send that file instead (relative paths are relative to this plan)')}`);
  for (const f of n.fileRefs) writeFileRef(ctx, indent, f);
  for (const c of n.children) {
    const cPath = childPath(path, c.kind, c.name);
    out.push(`${indent}<${c.kind} name="${attr(c.name)}">`);
    writeBody(ctx, c, `${indent}  `, cPath);
    out.push(`${indent}</${c.kind}>`);
  }
}

/** The plan as XML text. */
export function formatPlan(plan: DeploymentPlan, opts: FormatOptions = {}): string {
  const ctx: WriteContext = { out: [], opts, assembly: plan.assembly };
  const plans = opts.file ?? 'PLAN';
  ctx.out.push('<?xml version="1.0" encoding="UTF-8"?>');
  ctx.out.push('<!--');
  ctx.out.push(`  ${commentText(`Deployment plan for assembly "${plan.assembly}" (abctl plan format ${PLAN_FORMAT_VERSION}).`)}`);
  ctx.out.push('  Change values here; a property left without a value attribute keeps the assembly\'s value.');
  ctx.out.push(`  ${commentText(`Check it with: abctl validateDeploymentPlan -assembly ${plan.assembly} -plan ${plans}`)}`);
  ctx.out.push('  Only user properties can be overridden; system properties are not listed and cannot be added.');
  ctx.out.push('  <instances count>: how many instances of the appliance to deploy, from min to max.');
  ctx.out.push('  <host>: target host of each instance, by host name and/or IP address; empty = not assigned yet.');
  ctx.out.push('  <host target="local|ssh://user@host:port|podman|kubernetes:CONTEXT">: where abctl deploy runs that instance');
  ctx.out.push('  (a line without one takes the targets of the other lines of its appliance in turn).');
  ctx.out.push('-->');
  ctx.out.push(`<${PLAN_ROOT} formatVersion="${plan.formatVersion}" assembly="${attr(plan.assembly)}">`);
  writeBody(ctx, plan.root, '  ', { members: [] });
  ctx.out.push(`</${PLAN_ROOT}>`);
  ctx.out.push('');
  return ctx.out.join('\n');
}

// ------------------------------------------------------------------ reading

interface XmlNode {
  '#name': string;
  $?: Record<string, string>;
  $$?: XmlNode[];
  _?: string;
}

const LINE = '#line';

function invalid(message: string, file: string, line: number | undefined, hint?: string): UserError {
  return new UserError('PLAN_INVALID', message, {
    where: line === undefined ? file : `${file}:${line}`,
    hint: hint ?? 'fix the plan file, or write a fresh one with abctl createDeploymentPlan',
  });
}

export interface ParseOptions {
  /** Decrypts password values; without it, encrypted values are reported as unreadable. */
  readonly secrets?: SecretCodec;
}

/** Attribute reader for one element: refuses unknown attributes, so a typo is not silently ignored. */
class Attrs {
  readonly line: number | undefined;
  readonly #a: Record<string, string>;
  constructor(
    readonly node: XmlNode,
    readonly file: string,
    allowed: readonly string[],
  ) {
    this.#a = { ...(node.$ ?? {}) };
    const line = Number(this.#a[LINE]);
    this.line = Number.isInteger(line) ? line : undefined;
    delete this.#a[LINE];
    for (const k of Object.keys(this.#a)) {
      if (k.startsWith('xmlns')) continue;
      if (!allowed.includes(k)) {
        throw invalid(`<${node['#name']}> has an unknown attribute "${k}" (allowed: ${allowed.join(', ')})`, file, this.line);
      }
    }
  }
  opt(k: string): string | undefined {
    return this.#a[k];
  }
  req(k: string): string {
    const v = this.#a[k];
    if (v === undefined) throw invalid(`<${this.node['#name']}> needs a "${k}" attribute`, this.file, this.line);
    return v;
  }
  bool(k: string, fallback: boolean): boolean {
    const v = this.#a[k];
    if (v === undefined) return fallback;
    if (v !== 'true' && v !== 'false') throw invalid(`<${this.node['#name']}> attribute ${k}="${v}" must be true or false`, this.file, this.line);
    return v === 'true';
  }
  int(k: string, fallback: number): number {
    const v = this.#a[k];
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) throw invalid(`<${this.node['#name']}> attribute ${k}="${v}" must be a whole number`, this.file, this.line);
    return Number(v);
  }
}

/** Elements that hold attributes only. */
const LEAF_ELEMENTS: ReadonlySet<string> = new Set(['property', 'fileRef', 'instances', 'synthetic', 'host', 'mountTarget']);

/** A leaf element with child elements or text is refused, like an unknown element elsewhere: nothing in a plan is silently ignored. */
function leafOnly(c: XmlNode, file: string): void {
  const [child] = c.$$ ?? [];
  if (child) {
    const line = Number(child.$?.[LINE]);
    throw invalid(`unknown element <${child['#name']}> in <${c['#name']}>; <${c['#name']}> holds attributes only`, file, Number.isInteger(line) ? line : undefined);
  }
  if (c._ !== undefined && c._.trim() !== '') {
    const line = Number(c.$?.[LINE]);
    throw invalid(`<${c['#name']}> holds text "${c._.trim().slice(0, 40)}"; values go in attributes (e.g. value="...")`, file, Number.isInteger(line) ? line : undefined);
  }
}

function readNode(x: XmlNode, kind: PlanNodeKind, name: string, file: string, opts: ParseOptions, path: string): PlanNode {
  const properties: PlanProperty[] = [];
  const fileRefs: PlanFileRef[] = [];
  const children: PlanNode[] = [];
  const synthetic: PlanSynthetic[] = [];
  const hosts: PlanHost[] = [];
  const mountTargets: PlanMountTarget[] = [];
  let instances: PlanNode['instances'];
  const isAppliance = kind === 'appliance';
  const line = Number(x.$?.[LINE]);
  if (x._ !== undefined && x._.trim() !== '') {
    throw invalid(`<${x['#name']}> holds text "${x._.trim().slice(0, 40)}"; values go in attributes (e.g. value="...")`, file, Number.isInteger(line) ? line : undefined);
  }
  for (const c of x.$$ ?? []) {
    const tag = c['#name'];
    const cLine = Number(c.$?.[LINE]);
    const lineOf = Number.isInteger(cLine) ? cLine : undefined;
    if (LEAF_ELEMENTS.has(tag)) leafOnly(c, file);
    const applianceOnly = () => {
      if (!isAppliance) throw invalid(`<${tag}> belongs inside an <appliance>, not in <${x['#name']}>`, file, lineOf);
    };
    switch (tag) {
      case 'property': {
        const a = new Attrs(c, file, ['name', 'type', 'required', 'value', 'description']);
        const pName = a.req('name');
        const type = a.opt('type') ?? 'string';
        let value = a.opt('value');
        let clearText = false;
        let secretProblem: string | undefined;
        if (type === 'password' && value !== undefined) {
          const where = `${file}:${a.line ?? '?'}`;
          if (opts.secrets?.isEncrypted(value)) {
            try {
              value = opts.secrets.decrypt(value, where);
            } catch (err) {
              secretProblem = err instanceof Error ? err.message : String(err);
              value = undefined;
            }
          } else if (/^enc:/.test(value)) {
            secretProblem = 'the password is encrypted but no instance key is available to read it';
            value = undefined;
          } else {
            clearText = true;
          }
        }
        properties.push({
          name: pName,
          type,
          required: a.bool('required', false),
          description: a.opt('description') ?? '',
          value,
          ...(clearText ? { clearText } : {}),
          ...(secretProblem !== undefined ? { secretProblem } : {}),
          ...(a.line !== undefined ? { line: a.line } : {}),
        });
        break;
      }
      case 'fileRef': {
        const a = new Attrs(c, file, ['name', 'required', 'current', 'file', 'description']);
        const f = a.opt('file');
        fileRefs.push({
          name: a.req('name'),
          required: a.bool('required', false),
          description: a.opt('description') ?? '',
          current: a.opt('current'),
          file: f === undefined || f === '' ? undefined : f,
          ...(a.line !== undefined ? { line: a.line } : {}),
        });
        break;
      }
      case 'instances': {
        applianceOnly();
        const a = new Attrs(c, file, ['count', 'min', 'max']);
        if (instances) throw invalid(`<instances> is given twice for ${KIND_LABELS[kind]} "${name}"`, file, a.line);
        instances = { count: a.req('count'), min: a.int('min', 0), max: a.int('max', 0), ...(a.line !== undefined ? { line: a.line } : {}) };
        break;
      }
      case 'synthetic': {
        applianceOnly();
        const a = new Attrs(c, file, ['name', 'value']);
        synthetic.push({ name: a.req('name'), value: a.opt('value'), ...(a.line !== undefined ? { line: a.line } : {}) });
        break;
      }
      case 'host': {
        applianceOnly();
        const a = new Attrs(c, file, ['instance', 'hostname', 'address', 'target']);
        const target = a.opt('target');
        hosts.push({
          instance: a.req('instance'),
          hostname: a.opt('hostname') ?? '',
          address: a.opt('address') ?? '',
          ...(target !== undefined && target !== '' ? { target } : {}),
          ...(a.line !== undefined ? { line: a.line } : {}),
        });
        break;
      }
      case 'mountTarget': {
        applianceOnly();
        const a = new Attrs(c, file, ['fileSet', 'target', 'captured']);
        mountTargets.push({ fileSet: a.req('fileSet'), target: a.opt('target') ?? '', captured: a.bool('captured', false), ...(a.line !== undefined ? { line: a.line } : {}) });
        break;
      }
      default: {
        if (!(PLAN_NODE_KINDS as readonly string[]).includes(tag)) {
          throw invalid(
            `unknown element <${tag}> in <${x['#name']}>`,
            file,
            lineOf,
            'plan elements are property, fileRef, instances, synthetic, host, mountTarget and the objects assembly, atomicAssembly, appliance, externalResource, input, output, interface',
          );
        }
        const childKind = tag as PlanNodeKind;
        if (!PLAN_CHILD_KINDS[kind].includes(childKind)) {
          throw invalid(`<${tag}> cannot be inside <${x['#name']}> (a ${KIND_LABELS[kind]} holds ${PLAN_CHILD_KINDS[kind].join(', ') || 'no objects'})`, file, lineOf);
        }
        const a = new Attrs(c, file, ['name']);
        const cName = a.req('name');
        children.push(readNode(c, childKind, cName, file, opts, `${path}/${cName}`));
      }
    }
  }
  return {
    kind,
    name,
    properties,
    fileRefs,
    children,
    ...(instances ? { instances } : {}),
    synthetic,
    hosts,
    mountTargets,
    ...(Number.isInteger(line) ? { line } : {}),
  };
}

/**
 * Reads a plan as it streams in: `write` each piece of text (any split), then `finish`.
 * Syntax errors, unknown elements or attributes, a missing or newer format version and the
 * input limits (limits.ts) are UserErrors naming `file:line`; whether the overrides fit the
 * assembly is validateDeploymentPlan's job. saxes is a strict XML 1.0 parser that does not
 * expand entities declared in a DTD (no entity bombs); a DOCTYPE is refused anyway.
 */
export class PlanReader {
  readonly #parser = new SaxesParser({ position: true });
  readonly #stack: XmlNode[] = [];
  #root: XmlNode | undefined;
  #elements = 0;
  #failure: unknown;
  #empty = true;

  constructor(
    readonly file: string,
    private readonly opts: ParseOptions = {},
  ) {
    const p = this.#parser;
    const at = () => `${file}:${p.line}`;
    p.on('error', (err: Error) => {
      // saxes says "line:column: message."; the line goes in `where`, as for every plan error.
      throw invalid(`not well-formed XML: ${err.message.replace(/^\d+:\d+: /, '').replace(/\.$/, '')}`, file, p.line);
    });
    p.on('doctype', () => {
      throw invalid('the plan has a DOCTYPE declaration; plans do not use one', file, p.line);
    });
    p.on('opentag', (tag) => {
      if (++this.#elements > MAX_PLAN_ELEMENTS) throw planTooManyElements(at());
      const attrs: Record<string, string> = {};
      for (const [k, v] of Object.entries(tag.attributes as Record<string, string>)) {
        if (v.length > MAX_PLAN_VALUE_CHARS) throw planValueTooLong(`attribute ${k} of <${tag.name}>`, at());
        attrs[k] = v;
      }
      attrs[LINE] = String(p.line);
      const node: XmlNode = { '#name': tag.name, $: attrs };
      const parent = this.#stack[this.#stack.length - 1];
      if (parent) (parent.$$ ??= []).push(node);
      else this.#root = node;
      this.#stack.push(node);
    });
    p.on('closetag', () => {
      this.#stack.pop();
    });
    const addText = (t: string) => {
      const node = this.#stack[this.#stack.length - 1];
      // Layout between elements is dropped at once: kept, it would grow with every line of a large plan.
      if (!node || !/\S/.test(t)) return;
      const text = (node._ ?? '') + t;
      if (text.length > MAX_PLAN_VALUE_CHARS) throw planValueTooLong(`the text in <${node['#name']}>`, at());
      node._ = text;
    };
    p.on('text', addText);
    p.on('cdata', addText);
  }

  /** Feeds the next piece of the file. */
  write(text: string): this {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#empty && /\S/.test(text)) this.#empty = false;
    try {
      this.#parser.write(text);
      // A value still being read is not reported until it ends: check what saxes holds so far.
      const pending = (this.#parser as unknown as { text?: unknown }).text;
      if (typeof pending === 'string' && pending.length > MAX_PLAN_VALUE_CHARS) throw planValueTooLong('a value', `${this.file}:${this.#parser.line}`);
    } catch (err) {
      this.#failure = err;
      throw err;
    }
    return this;
  }

  /** The plan, once the whole file is in. */
  finish(): DeploymentPlan {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#empty) throw invalid('the file is empty', this.file, undefined);
    this.#parser.close();
    const node = this.#root;
    if (!node) throw invalid('the file is empty', this.file, undefined);
    const file = this.file;
    const rootName = node['#name'];
    if (rootName !== PLAN_ROOT) throw invalid(`the root element is <${rootName}>, expected <${PLAN_ROOT}>: this is not a deployment plan`, file, Number(node.$?.[LINE]) || undefined);
    const a = new Attrs(node, file, ['formatVersion', 'assembly']);
    const raw = a.opt('formatVersion');
    if (raw === undefined) throw invalid(`<${PLAN_ROOT}> has no formatVersion attribute`, file, a.line, `add formatVersion="${PLAN_FORMAT_VERSION}"`);
    if (!/^\d+$/.test(raw) || Number(raw) < 1) throw invalid(`formatVersion "${raw}" is not a positive whole number`, file, a.line);
    if (Number(raw) > PLAN_FORMAT_VERSION) {
      throw invalid(`the plan has format version ${raw}; this abctl reads versions up to ${PLAN_FORMAT_VERSION}`, file, a.line, 'upgrade abctl, or write the plan again with this version');
    }
    const assembly = a.req('assembly');
    const tree = readNode(node, 'assembly', assembly, file, this.opts, '');
    return { formatVersion: Number(raw), assembly, root: tree, file };
  }
}

/** Reads a whole plan text (see PlanReader; the plan service streams files instead). */
export function parsePlan(xmlText: string, file: string, opts: ParseOptions = {}): DeploymentPlan {
  if (xmlText.length > MAX_PLAN_BYTES) throw planTooLarge(xmlText.length, file);
  return new PlanReader(file, opts).write(xmlText).finish();
}
