import { describe, expect, it } from 'vitest';
import {
  checkTemplateVariables,
  compileTemplate,
  listTemplateVariables,
  renderTemplate,
  TemplateError,
  unresolvedVariables,
  type TemplateValues,
} from '../../core/templates/index.js';

function fails(text: string, values: TemplateValues = {}, name = 'server.xml'): TemplateError {
  let caught: unknown;
  try {
    renderTemplate({ name, text }, values);
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${JSON.stringify(text)} to fail`).toBeInstanceOf(TemplateError);
  return caught as TemplateError;
}

describe('strict templates: variables', () => {
  it('an unknown variable names the template, the line and the variable', () => {
    const e = fails('<Server port="{{port}}">\n  <Host name="{{hostname}}"/>\n', { port: 8005 });
    expect(e.code).toBe('TEMPLATE_VARIABLE_NO_VALUE');
    expect(e.template).toBe('server.xml');
    expect(e.line).toBe(2);
    expect(e.variable).toBe('hostname');
    expect(e.describe()).toContain('template "server.xml" line 2');
    expect(e.describe()).toContain('"hostname"');
  });

  it('every missing variable is listed in the hint, also those in branches not taken', () => {
    const e = fails('{{#if ssl}}{{[ssl.port]}}{{/if}}{{a}}', { ssl: false });
    expect(e.variable).toBe('ssl.port');
    expect(e.hint).toContain('"ssl.port", "a"');
  });

  it('renders values by type, without HTML escaping', () => {
    expect(renderTemplate({ name: 't', text: '{{a}} {{n}} {{b}} {{[x.y]}} {{prop "a-b"}}' }, new Map<string, string | number | boolean>([
      ['a', '<&>"\''],
      ['n', 0],
      ['b', true],
      ['x.y', 'dotted'],
      ['a-b', 'dashed'],
    ]))).toBe('<&>"\' 0 true dotted dashed');
  });

  it('a dotted path is refused with the bracketed spelling as the hint', () => {
    const e = fails('x\n{{server.name}}', { 'server.name': 'w' });
    expect(e.code).toBe('TEMPLATE_VARIABLE_PATH');
    expect(e.line).toBe(2);
    expect(e.hint).toContain('{{[server.name]}}');
  });

  it('refuses @data, ../ and this', () => {
    for (const t of ['{{@root.port}}', '{{#if a}}{{../port}}{{/if}}', '{{this}}', '{{@index}}']) {
      expect(fails(t, { a: true, port: 1 }).code).toBe('TEMPLATE_UNSUPPORTED');
    }
  });
});

describe('strict templates: no prototype access', () => {
  it('prototype names are unknown variables, even when values come as a plain object', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf']) {
      const e = fails(`{{${name}}}`, { port: 1 });
      expect(e.variable).toBe(name);
      expect(fails(`{{prop "${name}"}}`, { port: 1 }).variable).toBe(name);
      expect(fails(`{{[${name}]}}`, { port: 1 }).variable).toBe(name);
    }
  });

  it('lookup, with, each, log, partials and decorators are refused', () => {
    expect(fails('{{lookup this "constructor"}}').code).toBe('TEMPLATE_HELPER_UNKNOWN');
    expect(fails('{{lookup (lookup this "constructor") "prototype"}}').code).toBe('TEMPLATE_HELPER_UNKNOWN');
    expect(fails('{{#with this}}{{constructor}}{{/with}}').code).toBe('TEMPLATE_HELPER_UNKNOWN');
    expect(fails('{{#each this}}{{@key}}{{/each}}').code).toBe('TEMPLATE_HELPER_UNKNOWN');
    expect(fails('{{log "x"}}').code).toBe('TEMPLATE_HELPER_UNKNOWN');
    expect(fails('{{> other}}').code).toBe('TEMPLATE_UNSUPPORTED');
    expect(fails('{{#> layout}}x{{/layout}}').code).toBe('TEMPLATE_UNSUPPORTED');
    expect(fails('{{* deco}}').code).toBe('TEMPLATE_UNSUPPORTED');
  });

  it('an own property named like a prototype member is an ordinary value', () => {
    const values = Object.create(null) as Record<string, string>;
    values['constructor'] = 'mine';
    expect(renderTemplate({ name: 't', text: '{{constructor}}' }, values)).toBe('mine');
    expect(renderTemplate({ name: 't', text: '{{constructor}}' }, new Map([['constructor', 'map']]))).toBe('map');
  });
});

describe('strict templates: helpers', () => {
  const values = { v: `a&b<c>d"e'f`, n: 42, b: false, q: "it's", multi: 'line1\nline2\t"x"\\' };

  it('xml escapes the five special characters', () => {
    expect(renderTemplate({ name: 't', text: '{{xml v}}' }, values)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f');
    expect(renderTemplate({ name: 't', text: '{{xml n}}' }, values)).toBe('42');
  });

  it('shell makes one single-quoted word that sh reads back unchanged', async () => {
    const { execFileSync } = await import('node:child_process');
    for (const v of [values.v, values.q, values.multi, '', '$(id) `id` $HOME \\']) {
      const word = renderTemplate({ name: 't', text: '{{shell v}}' }, { v });
      expect(execFileSync('sh', ['-c', `printf %s ${word}`], { encoding: 'utf8' })).toBe(v);
    }
    expect(renderTemplate({ name: 't', text: '{{shell q}}' }, values)).toBe(`'it'\\''s'`);
  });

  it('json encodes strings, numbers and booleans as JSON values', () => {
    const out = renderTemplate({ name: 't', text: '[{{json multi}}, {{json n}}, {{json b}}, {{json (prop "v")}}]' }, values);
    expect(JSON.parse(out)).toEqual([values.multi, 42, false, values.v]);
  });

  it('an unknown helper is refused at compile time with its line', () => {
    const e = fails('ok\n{{upper name}}', { name: 'x' });
    expect(e.code).toBe('TEMPLATE_HELPER_UNKNOWN');
    expect(e.line).toBe(2);
    expect(e.message).toContain('"upper"');
    expect(e.hint).toContain('xml');
    expect(fails('{{#upper}}x{{/upper}}').code).toBe('TEMPLATE_HELPER_UNKNOWN');
  });

  it('helpers are called as documented: one value, blocks only for if/unless', () => {
    expect(fails('{{xml}}', { xml: 'x' }).code).toBe('TEMPLATE_UNSUPPORTED');
    expect(fails('{{xml a b}}', { a: 1, b: 2 }).code).toBe('TEMPLATE_UNSUPPORTED');
    expect(fails('{{xml a x=1}}', { a: 1 }).code).toBe('TEMPLATE_UNSUPPORTED');
    expect(fails('{{#xml a}}{{/xml}}', { a: 1 }).code).toBe('TEMPLATE_UNSUPPORTED');
    expect(fails('{{if a}}', { a: 1 }).code).toBe('TEMPLATE_UNSUPPORTED');
    expect(fails('{{prop a}}', { a: 1 }).code).toBe('TEMPLATE_UNSUPPORTED');
    expect(renderTemplate({ name: 't', text: '{{prop "xml"}}' }, { xml: 'named xml' })).toBe('named xml');
    expect(renderTemplate({ name: 't', text: '{{#unless b}}off{{else}}on{{/unless}}' }, { b: false })).toBe('off');
  });

  it('a syntax error names the template and line', () => {
    const e = fails('a\nb {{#if x}}\n');
    expect(e.code).toBe('TEMPLATE_SYNTAX');
    expect(e.template).toBe('server.xml');
  });
});

describe('template variables for checks before deployment', () => {
  const source = {
    name: 'httpd.conf',
    text: 'Listen {{port}}\n{{#if ssl}}SSLPort {{[ssl.port]}}{{else}}# none{{/if}}\nName {{xml (prop "server.name")}} {{port}}\n{{! {{ignored}} }}\n',
  };

  it('lists every use with line and column, from the syntax tree', () => {
    expect(listTemplateVariables(source)).toEqual([
      { name: 'port', line: 1, column: 10 },
      { name: 'ssl', line: 2, column: 7 },
      { name: 'ssl.port', line: 2, column: 22 },
      { name: 'server.name', line: 3, column: 18 },
      { name: 'port', line: 3, column: 37 },
    ]);
    expect(compileTemplate(source).variableNames).toEqual(['port', 'server.name', 'ssl', 'ssl.port']);
  });

  it('unresolvedVariables: what the plan leaves without a value', () => {
    expect(unresolvedVariables(source, { port: 80, ssl: false }).map((v) => v.name)).toEqual(['ssl.port', 'server.name']);
    expect(unresolvedVariables(source, ['port', 'ssl', 'ssl.port', 'server.name'])).toEqual([]);
    expect(unresolvedVariables(source, new Map([['port', 1]])).length).toBe(3);
  });

  it('checkTemplateVariables: a variable that is not a property of the appliance', () => {
    expect(() => checkTemplateVariables(source, ['port', 'ssl', 'ssl.port', 'server.name'])).not.toThrow();
    let caught: unknown;
    try {
      checkTemplateVariables(source, ['port', 'ssl']);
    } catch (err) {
      caught = err;
    }
    const e = caught as TemplateError;
    expect(e.code).toBe('TEMPLATE_VARIABLE_UNKNOWN');
    expect(e.variable).toBe('ssl.port');
    expect(e.line).toBe(2);
    expect(e.hint).toContain('"server.name" (line 3)');
  });

  it('compiled templates are cached by name and text', () => {
    const a = compileTemplate(source);
    expect(compileTemplate({ ...source })).toBe(a);
    expect(compileTemplate({ name: 'other', text: source.text })).not.toBe(a);
    expect(compileTemplate({ name: source.name, text: `${source.text} ` })).not.toBe(a);
  });
});
