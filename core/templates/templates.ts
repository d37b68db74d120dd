/**
 * Strict config templates (the role Velocity has in the reference SDK): handlebars with
 * - every variable a property name that must have a value, or the render fails naming the
 *   template, the line and the variable (cloud-init's lesson: no silent empty strings);
 * - no HTML escaping, and only the helpers in helpers.ts (xml, shell, json, prop, #if,
 *   #unless); anything else (partials, `lookup`, `each`, `@root`, `../`) is refused;
 * - no prototype access: values sit in an object without a prototype, and handlebars'
 *   `allowProto*` options are never set.
 *
 * A template is checked before it runs by walking its syntax tree (`checkTemplate`); the
 * same walk lists its variables for introspection and plan validation, so "which values
 * are missing" has one answer everywhere. Compiled templates are cached by name and text.
 */
import Handlebars from 'handlebars';
import { UserError, type ErrorCode } from '../errors.js';
import { BLOCK_HELPERS, FORMAT_HELPERS, KNOWN_HELPERS, PROP_HELPER, type TemplateValue } from './helpers.js';

type Node = hbs.AST.Node;
type Expression = hbs.AST.Expression;
type PathExpression = hbs.AST.PathExpression;

export interface TemplateSource {
  /** Named in every error, e.g. the content resource's name `server.xml`. */
  readonly name: string;
  readonly text: string;
}

/** One use of a variable in a template; lines and columns count from 1. */
export interface TemplateVariable {
  /** The property name it refers to. */
  readonly name: string;
  readonly line: number;
  readonly column: number;
}

/** Values to render with: a Map, or a plain object (only its own keys are used). */
export type TemplateValues = ReadonlyMap<string, TemplateValue> | Readonly<Record<string, TemplateValue>>;

/** A UserError that knows which template, line and variable it is about. */
export class TemplateError extends UserError {
  /** Always one of abctl's TEMPLATE_* codes (the constructor takes no plugin code). */
  declare readonly code: ErrorCode;
  readonly template: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly variable: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    at: { template: string; line?: number | undefined; column?: number | undefined; variable?: string; hint?: string; cause?: unknown },
  ) {
    super(code, message, {
      where: at.line === undefined ? `template "${at.template}"` : `template "${at.template}" line ${at.line}, column ${at.column ?? 1}`,
      ...(at.hint === undefined ? {} : { hint: at.hint }),
      ...(at.cause === undefined ? {} : { cause: at.cause }),
    });
    this.template = at.template;
    this.line = at.line;
    this.column = at.column;
    this.variable = at.variable;
  }
}

export interface CompiledTemplate {
  readonly name: string;
  /** Every use of every variable, in template order. */
  readonly variables: readonly TemplateVariable[];
  /** Distinct variable names, sorted. */
  readonly variableNames: readonly string[];
  /** Renders; throws TemplateError for a variable without a value (all of them listed). */
  render(values: TemplateValues): string;
}

// A private environment: helpers registered here cannot leak into, or come from, other handlebars users.
const env = Handlebars.create();
for (const name of Object.keys(env.helpers)) if (!BLOCK_HELPERS.includes(name) && name !== 'helperMissing' && name !== 'blockHelperMissing') env.unregisterHelper(name);
for (const [name, format] of Object.entries(FORMAT_HELPERS)) {
  env.registerHelper(name, (value: TemplateValue) => format(value));
}
env.registerHelper(PROP_HELPER, (name: string, options: Handlebars.HelperOptions) => {
  const root = (options.data as { root: Record<string, TemplateValue> }).root;
  // checkTemplate already proved the name has a value; this guard only keeps inherited keys out.
  if (!Object.prototype.hasOwnProperty.call(root, name)) throw new Error(`no value for "${name}"`);
  return root[name];
});

const COMPILE_OPTIONS: CompileOptions = {
  strict: true,
  noEscape: true,
  knownHelpersOnly: true,
  // Builtins not listed as true are unknown, so a call to them fails at compile time.
  knownHelpers: {
    ...Object.fromEntries(KNOWN_HELPERS.map((h) => [h, true])),
    each: false,
    with: false,
    lookup: false,
    log: false,
  },
};

/** Most recent compiled templates; the oldest goes first when full. */
const CACHE_SIZE = 256;
const cache = new Map<string, CompiledTemplate>();

/** Parses, checks and compiles a template, or returns the cached one for the same name and text. */
export function compileTemplate(source: TemplateSource): CompiledTemplate {
  const key = `${source.name}\u0000${source.text}`;
  const hit = cache.get(key);
  if (hit) {
    // Map order is insertion order: re-inserting marks it as recently used.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const ast = parse(source);
  const variables = walkProgram(source.name, ast);
  const variableNames = [...new Set(variables.map((v) => v.name))].sort();
  const fn = env.compile(ast, COMPILE_OPTIONS);
  const compiled: CompiledTemplate = Object.freeze({
    name: source.name,
    variables,
    variableNames,
    render(values: TemplateValues): string {
      const context = contextOf(values);
      const missing = variables.filter((v) => !Object.prototype.hasOwnProperty.call(context, v.name));
      if (missing.length) throw missingError(source.name, missing);
      try {
        return fn(context);
      } catch (err) {
        // The checks above leave handlebars nothing to complain about; keep its location if it does.
        const e = err as { message?: string; lineNumber?: number; column?: number };
        throw new TemplateError('TEMPLATE_RENDER_FAILED', `template failed: ${e.message ?? String(err)}`, {
          template: source.name,
          line: e.lineNumber,
          column: e.column === undefined ? undefined : e.column + 1,
          cause: err,
        });
      }
    },
  });
  cache.set(key, compiled);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return compiled;
}

/** Renders `source` with `values`: see compileTemplate and CompiledTemplate.render. */
export function renderTemplate(source: TemplateSource, values: TemplateValues): string {
  return compileTemplate(source).render(values);
}

/** Every use of every variable (a property name), for checks before deployment. */
export function listTemplateVariables(source: TemplateSource): readonly TemplateVariable[] {
  return compileTemplate(source).variables;
}

/** Uses of variables that `values` gives no value for: what a render would refuse. */
export function unresolvedVariables(source: TemplateSource, values: TemplateValues | Iterable<string>): TemplateVariable[] {
  const have = hasName(values);
  return compileTemplate(source).variables.filter((v) => !have(v.name));
}

/**
 * Throws a TemplateError for the first variable that is not among `propertyNames` (the
 * introspection check: a template may only name properties the appliance has), nor among
 * `opts.lateBindings` (the late-binding variables the appliance may use, late-bindings.ts).
 */
export function checkTemplateVariables(source: TemplateSource, propertyNames: Iterable<string>, opts: { lateBindings?: readonly string[] } = {}): void {
  const late = opts.lateBindings ?? [];
  const known = new Set([...propertyNames, ...late]);
  const unknown = compileTemplate(source).variables.filter((v) => !known.has(v.name));
  const first = unknown[0];
  if (first) {
    const fix = late.length ? `use a property of the appliance or one of ${late.join(', ')}` : 'add the property in the plugin, or change the template';
    throw new TemplateError('TEMPLATE_VARIABLE_UNKNOWN', `unknown variable "${first.name}": the appliance has no property of that name`, {
      template: source.name,
      line: first.line,
      column: first.column,
      variable: first.name,
      hint: unknown.length > 1 ? `also unknown: ${describeUses(unknown.slice(1))}; ${fix}` : fix,
    });
  }
}

function hasName(values: TemplateValues | Iterable<string>): (name: string) => boolean {
  if (values instanceof Map) return (n) => values.has(n);
  if (typeof (values as Iterable<string>)[Symbol.iterator] === 'function') {
    const set = new Set(values as Iterable<string>);
    return (n) => set.has(n);
  }
  return (n) => Object.prototype.hasOwnProperty.call(values, n);
}

function parse(source: TemplateSource): hbs.AST.Program {
  try {
    return Handlebars.parse(source.text);
  } catch (err) {
    const e = err as { message?: string; lineNumber?: number; column?: number };
    // Handlebars' parse messages start with "Parse error on line N:" and show the spot.
    const line = e.lineNumber ?? Number(/line (\d+)/.exec(e.message ?? '')?.[1] ?? NaN);
    throw new TemplateError('TEMPLATE_SYNTAX', `template syntax error: ${e.message ?? String(err)}`, {
      template: source.name,
      line: Number.isFinite(line) ? line : undefined,
      column: e.column === undefined ? undefined : e.column + 1,
      hint: 'see docs/templates.md for the syntax',
      cause: err,
    });
  }
}

/** Values as a context without a prototype, so no template can reach Object.prototype. */
function contextOf(values: TemplateValues): Record<string, TemplateValue> {
  const ctx = Object.create(null) as Record<string, TemplateValue>;
  const entries = values instanceof Map ? values.entries() : Object.entries(values as Record<string, TemplateValue>);
  for (const [k, v] of entries) ctx[k] = v;
  // Handlebars' strict mode prints the context in its message; a null-prototype object cannot be printed.
  Object.defineProperty(ctx, Symbol.toPrimitive, { value: () => 'the properties', enumerable: false });
  return ctx;
}

function missingError(template: string, missing: readonly TemplateVariable[]): TemplateError {
  const first = missing[0]!;
  const names = [...new Set(missing.map((v) => v.name))];
  return new TemplateError('TEMPLATE_VARIABLE_NO_VALUE', `variable "${first.name}" has no value`, {
    template,
    line: first.line,
    column: first.column,
    variable: first.name,
    hint:
      names.length > 1
        ? `give values to ${names.map((n) => `"${n}"`).join(', ')} (in the deployment plan, or as properties of the appliance)`
        : 'give it a value in the deployment plan, or add it as a property of the appliance',
  });
}

function describeUses(vars: readonly TemplateVariable[]): string {
  return vars.map((v) => `"${v.name}" (line ${v.line})`).join(', ');
}

// ---- the syntax tree walk: which constructs are allowed, and which names are variables ----

function pos(node: Node): { line: number; column: number } {
  // Handlebars columns count from 0.
  return { line: node.loc.start.line, column: node.loc.start.column + 1 };
}

function refuse(template: string, node: Node, code: ErrorCode, message: string, hint: string, variable?: string): never {
  throw new TemplateError(code, message, { template, ...pos(node), hint, ...(variable === undefined ? {} : { variable }) });
}

function walkProgram(template: string, program: hbs.AST.Program, out: TemplateVariable[] = []): TemplateVariable[] {
  for (const st of program.body) {
    switch (st.type) {
      case 'ContentStatement':
      case 'CommentStatement':
        break;
      case 'MustacheStatement': {
        const m = st as hbs.AST.MustacheStatement;
        walkCall(template, m, m.path, m.params, m.hash, false, out);
        break;
      }
      case 'BlockStatement': {
        const b = st as hbs.AST.BlockStatement;
        walkCall(template, b, b.path, b.params, b.hash, true, out);
        if (b.program) walkProgram(template, b.program, out);
        if (b.inverse) walkProgram(template, b.inverse, out);
        break;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement':
        refuse(template, st, 'TEMPLATE_UNSUPPORTED', 'partials ({{> name}}) are not supported in config templates', 'put the text in the template itself');
        break;
      default:
        // Decorators ({{* x}}) and anything a later handlebars adds.
        refuse(template, st, 'TEMPLATE_UNSUPPORTED', `${st.type} is not supported in config templates`, 'see docs/templates.md for what a template may contain');
    }
  }
  return out;
}

/** A mustache, block or subexpression: a variable (no arguments) or a helper call. */
function walkCall(
  template: string,
  node: Node,
  path: PathExpression | hbs.AST.Literal,
  params: readonly Expression[],
  hash: hbs.AST.Hash | undefined,
  block: boolean,
  out: TemplateVariable[],
): void {
  if (path.type !== 'PathExpression') {
    // `{{"text"}}` or `{{1}}`: a literal prints itself; nothing to check.
    if (block || params.length) refuse(template, node, 'TEMPLATE_UNSUPPORTED', 'a literal cannot take arguments', 'remove the arguments');
    return;
  }
  const p = path as PathExpression;
  const name = p.parts.length === 1 && !p.data && p.depth === 0 ? p.parts[0]! : undefined;
  const helper = name !== undefined && KNOWN_HELPERS.includes(name) && p.original === name ? name : undefined;
  const isCall = block || params.length > 0 || (hash?.pairs.length ?? 0) > 0;
  if (!isCall && !helper) {
    out.push(variableOf(template, p));
    return;
  }
  if (!helper) {
    refuse(
      template,
      node,
      'TEMPLATE_HELPER_UNKNOWN',
      `unknown helper "${p.original}"`,
      `known helpers: ${KNOWN_HELPERS.join(', ')}`,
    );
  }
  if (hash && hash.pairs.length) refuse(template, node, 'TEMPLATE_UNSUPPORTED', `helper "${helper}" takes no name=value options`, 'remove them');
  if (block !== BLOCK_HELPERS.includes(helper)) {
    refuse(
      template,
      node,
      'TEMPLATE_UNSUPPORTED',
      block ? `"${helper}" cannot open a block` : `"${helper}" opens a block: write {{#${helper} ...}}...{{/${helper}}}`,
      `blocks: ${BLOCK_HELPERS.map((h) => `#${h}`).join(', ')}`,
    );
  }
  if (params.length !== 1) {
    refuse(template, node, 'TEMPLATE_UNSUPPORTED', `helper "${helper}" takes exactly one value, not ${params.length}`, `e.g. {{${helper === PROP_HELPER ? 'prop "server.name"' : `${helper} port`}}}`);
  }
  const arg = params[0]!;
  if (helper === PROP_HELPER) {
    if (arg.type !== 'StringLiteral') {
      refuse(template, node, 'TEMPLATE_UNSUPPORTED', 'helper "prop" takes a property name in quotes', 'e.g. {{prop "server.name"}}');
    }
    out.push({ name: (arg as hbs.AST.StringLiteral).value, ...pos(arg) });
    return;
  }
  walkExpression(template, arg, out);
}

function walkExpression(template: string, e: Expression, out: TemplateVariable[]): void {
  switch (e.type) {
    case 'PathExpression':
      out.push(variableOf(template, e as PathExpression));
      return;
    case 'SubExpression': {
      const s = e as hbs.AST.SubExpression;
      walkCall(template, s, s.path, s.params, s.hash, false, out);
      return;
    }
    default:
      // String, number, boolean, null and undefined literals.
      return;
  }
}

/** A path used as a value must be one property name: no `../`, no `@data`, no `a.b` walks. */
function variableOf(template: string, p: PathExpression): TemplateVariable {
  if (p.data || p.depth > 0 || p.parts.length === 0) {
    refuse(template, p, 'TEMPLATE_UNSUPPORTED', `"${p.original}" is not a property name`, 'a variable is a property name, e.g. {{port}} or {{[server.name]}}', p.original);
  }
  if (p.parts.length > 1) {
    const joined = p.parts.join('.');
    refuse(
      template,
      p,
      'TEMPLATE_VARIABLE_PATH',
      `"${p.original}" reads a path; property names are not nested`,
      `a property whose name has dots is written in brackets, {{[${joined}]}}, or {{prop "${joined}"}}`,
      joined,
    );
  }
  return { name: p.parts[0]!, ...pos(p) };
}
