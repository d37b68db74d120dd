import { Parser } from 'xml2js';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { parseDocument, renderDocument, type ParseOptions, type Plain } from '../../catalog/xml-codec.js';
import { sampleAppliance, sampleAssembly, sampleAtomic } from './helpers.js';

const opts: ParseOptions = { where: 'doc.xml', rootOnly: ['formatVersion'] };

function parseError(text: string, o: ParseOptions = opts): UserError {
  try {
    parseDocument(text, o);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected the document to be refused');
}

const render = (root: string, plain: Plain) => renderDocument(root, plain, { where: 'doc.xml', rootAttributes: { formatVersion: 1 } });

describe('catalog XML reader', () => {
  it('reads back what the writer wrote, including fields the tables do not know', () => {
    const plain: Plain = {
      name: 'x',
      count: 3,
      flag: true,
      port: '8080', // a known number field holding a string keeps its type through the ab:types hint
      nested: { deep: { list: [1, 'two', false, ['a', ''], { k: 'v' }] } },
      excludes: ['  spaced  ', '', 'a<b>&"c"\n\t'],
      properties: [{ name: 'p', value: 'v', required: false }],
      empty: [],
    };
    const doc = parseDocument(render('thing', plain), opts);
    expect(doc.rootName).toBe('thing');
    expect(doc.rootAttributes['formatVersion']).toBe('1');
    expect(doc.plain).toEqual(plain);
  });

  it('handles what hand-edited XML may contain: comments, CDATA, character references, CRLF', () => {
    const text = [
      '<?xml version="1.0" encoding="UTF-8"?>\r',
      '<!-- edited by hand -->\r',
      '<appliance formatVersion="1" name="a&#x42;c" description=\'it&apos;s\'>\r',
      '  <excludes><exclude><![CDATA[<raw> & ]]></exclude><exclude><![CDATA[  ]]></exclude></excludes>\r',
      '  <?some-tool ignore me?>\r',
      '</appliance>\r',
    ].join('\n');
    expect(parseDocument(text, opts).plain).toEqual({ name: 'aBc', description: "it's", excludes: ['<raw> & ', '  '] });
  });

  it('names the line and column of a syntax error', () => {
    const text = '<?xml version="1.0"?>\n<appliance formatVersion="1">\n  <properties>\n  </propertie>\n</appliance>\n';
    const err = parseError(text);
    expect(err.code).toBe('CATALOG_FILE_INVALID');
    expect(err.where).toBe('doc.xml');
    expect(err.message).toMatch(/^not well-formed XML: .*Line: 4, Column: \d+$/);
  });

  it('refuses what XML forbids that the old reader let through', () => {
    for (const bad of ['<a x="1" x="2"/>', '<a>\u0001</a>', '<a>&nbsp;</a>', '<a>]]></a>', '<a/><b/>', '<a>', 'text']) {
      expect(parseError(bad).message, bad).toMatch(/not well-formed XML: .*Line: \d+, Column: \d+/);
    }
    expect(parseError('  \n').message).toBe('the file is empty');
  });

  it('a syntax error later in the file wins over a content error before it', () => {
    const err = parseError('<a formatVersion="1"><scalability min="x"/>\n<broken></a>');
    expect(err.message).toMatch(/not well-formed XML/);
    expect(parseError('<a formatVersion="1"><scalability min="x"/></a>').message).toBe('a/scalability: attribute min="x" must be a number');
  });

  it('content errors name the element', () => {
    expect(parseError('<a><name/><name/></a>').message).toBe('a/name: "name" is given more than once');
    expect(parseError('<a><excludes><exclude/><exclude ab:type="number">x</exclude></excludes></a>').message).toBe(
      'a/excludes/exclude[2]: attribute value="x" must be a number',
    );
    expect(parseError('<a __proto__="x"/>').message).toContain('"__proto__" cannot be a field name');
    expect(parseError('<a ab:types="n:date"/>').message).toContain('bad ab:types entry "n:date"');
  });

  it('opens secrets with the same ids the writer used', () => {
    const plain: Plain = {
      name: 'a',
      properties: [{ name: 'pw', value: 'clear', secret: true }],
      inputs: [{ name: 'http', properties: [{ name: 'pw', value: 'other', secret: true }] }],
    };
    const written: string[] = [];
    const text = renderDocument('appliance', plain, { where: 'doc.xml', secret: (clear, id) => (written.push(`${id}=${clear}`), `enc(${clear})`) });
    const read: string[] = [];
    const back = parseDocument(text, { where: 'doc.xml', secret: (stored, id) => (read.push(`${id}=${stored}`), stored.slice(4, -1)) });
    expect(back.plain).toEqual(plain);
    expect(written).toEqual(['/appliance[a]/properties/property[pw]=clear', '/appliance[a]/inputs/input[http]/properties/property[pw]=other']);
    expect(read).toEqual(written.map((w) => w.replace(/=(.*)$/, '=enc($1)')));
  });
});

// ------------------------------------------------------------------ against the previous reader

/** The reader this project used before (xml2js), reduced to its result: a plain value or an error. */
function xml2jsReference(text: string): Plain | Error {
  type Node = string | { $?: Record<string, string>; _?: string; [k: string]: unknown };
  let root: Record<string, Node> | undefined;
  let failure: unknown;
  new Parser({ explicitArray: true, async: false, strict: true, normalize: false, trim: false, emptyTag: '' }).parseString(text, (err: unknown, r: unknown) => {
    failure = err;
    root = r as Record<string, Node>;
  });
  if (failure || !root) return new Error('syntax');
  const numbers = new Set(['min', 'target', 'max', 'absoluteMax', 'memoryMiB', 'cpus', 'port', 'size', 'formatVersion']);
  const booleans = new Set(['required', 'captured', 'secret']);
  const lists = new Set(['properties', 'interfaces', 'children', 'inputs', 'outputs', 'contentResources', 'fileSets', 'excludes', 'protocols', 'connectionProperties', 'appliances', 'members', 'connections', 'vnets', 'archives']);
  const scalar = (t: string, type: string): unknown => {
    if (type === 'number') {
      if (t.trim() === '' || !Number.isFinite(Number(t))) throw new Error('number');
      return Number(t);
    }
    if (type === 'boolean') {
      if (t !== 'true' && t !== 'false') throw new Error('boolean');
      return t === 'true';
    }
    return t;
  };
  const children = (n: Node) => (typeof n === 'string' ? [] : Object.keys(n).filter((k) => k !== '$' && k !== '_').map((k) => [k, n[k] as Node[]] as const));
  const obj = (n: Node, skip: Set<string>): Plain => {
    const a = typeof n === 'string' ? {} : (n.$ ?? {});
    const hints = new Map((a['ab:types'] ?? '').split(/\s+/).filter(Boolean).map((p) => p.split(':') as [string, string]));
    const o: Plain = {};
    for (const k of Object.keys(a)) if (!k.includes(':') && k !== 'xmlns' && !skip.has(k)) o[k] = scalar(a[k] ?? '', hints.get(k) ?? (numbers.has(k) ? 'number' : booleans.has(k) ? 'boolean' : 'string'));
    for (const [k, l] of children(n)) {
      if (k in o || l.length !== 1) throw new Error('twice');
      const c = l[0] as Node;
      const h = typeof c === 'string' ? undefined : c.$?.['ab:list'];
      o[k] = (h === undefined ? lists.has(k) : h === 'true') ? list(c) : obj(c, new Set());
    }
    return o;
  };
  const list = (n: Node): unknown[] =>
    children(n).flatMap(([, items]) =>
      items.map((i) => {
        if (typeof i === 'string') return i;
        const a = i.$ ?? {};
        if (a['ab:list'] === 'true') return list(i);
        if (a['ab:type'] !== undefined) return scalar(i._ ?? '', a['ab:type']);
        return obj(i, new Set());
      }),
    );
  try {
    const [, node] = Object.entries(root)[0] ?? [];
    if (node === undefined) return new Error('empty');
    return obj(node, new Set(['formatVersion']));
  } catch (err) {
    return err as Error;
  }
}

function saxesResult(text: string): Plain | Error {
  try {
    return parseDocument(text, opts).plain;
  } catch (err) {
    return err as Error;
  }
}

/** Lists compared as multisets: the old reader grouped a list's items by element name, the new one keeps document order. */
function unordered(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => JSON.stringify(unordered(x))).sort();
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unordered(x)]));
  return v;
}

describe('catalog XML reader against the previous (xml2js) reader', () => {
  const docs = [
    render('appliance', sampleAppliance('web', { props: 5 }).toPlain() as unknown as Plain),
    render('atomicAssembly', sampleAtomic('pair').toPlain() as unknown as Plain),
    render('assembly', sampleAssembly('shop', [sampleAppliance('db')]).toPlain() as unknown as Plain),
  ];

  it('gives the same result for every catalog document', () => {
    for (const d of docs) expect(saxesResult(d)).toEqual(xml2jsReference(d));
  });

  it('never accepts a damaged document the previous reader refused, and reads the others alike', () => {
    // Random damage with a fixed seed: deleted characters, cut spans, inserted markup.
    let seed = 20240611;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const bits = ['<', '>', '&', '"', "'", '/', '=', ' ', 'a', ':', '!', '?', ']', '-', '&amp;', '&#65;', '<![CDATA[', ']]>', '<!--', '-->', '\u0001', 'é', '<x/>', '</x>'];
    let compared = 0;
    for (let k = 0; k < 3000; k++) {
      let t = docs[k % docs.length] ?? '';
      for (let m = 0; m < 1 + Math.floor(rnd() * 2); m++) {
        const i = Math.floor(rnd() * t.length);
        const r = rnd();
        if (r < 0.4) t = t.slice(0, i) + t.slice(i + 1);
        else if (r < 0.8) t = t.slice(0, i) + (bits[Math.floor(rnd() * bits.length)] ?? '') + t.slice(i);
        else t = t.slice(0, i) + t.slice(i + Math.floor(rnd() * 30));
      }
      const before = xml2jsReference(t);
      const now = saxesResult(t);
      if (before instanceof Error) {
        expect(now, t).toBeInstanceOf(Error);
      } else if (!(now instanceof Error)) {
        expect(unordered(now), t).toEqual(unordered(before));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(300);
  });
});
