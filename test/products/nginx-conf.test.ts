/**
 * The nginx plugin's reader of nginx's configuration syntax (plugins/nginx/conf.js), on real
 * files in a temp dir: quoting, escapes, variables, comments, include globs in nginx's order,
 * errors that name the file and line, listen forms, and templates that change only the spans
 * they mean to (nginx -t checks the rendered text of a tricky file).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../services/instance.js';
import { renderTemplate } from '../../core/templates/index.js';
import { tempPrefix } from '../support/nginx.mjs';

interface Token {
  kind: string;
  text?: string;
  line: number;
}
interface Directive {
  name: string;
  args: { text: string; start: number; end: number }[];
  start: number;
  end: number;
  line: number;
  block?: Directive[];
}
interface Tree {
  files: Map<string, { text: string; directives: Directive[] }>;
}
interface ConfModule {
  tokenize(src: string, file?: string): Token[];
  parse(src: string, file?: string): Directive[];
  readConfigTree(fs: unknown, conf: string): Promise<Tree>;
  describeConfig(tree: Tree): {
    listens: { address?: string; port: number; ssl: boolean; context: string }[];
    upstreams: { name: string; servers: Directive[] }[];
    servers: { serverNames?: Directive }[];
    roots: string[];
    user?: string;
    pid?: string;
  };
  parseListen(arg: string): { address?: string; port?: number; unix: boolean };
  applyEdits(src: string, edits: { start: number; end: number; text: string }[]): string;
  lineSpan(src: string, d: Directive): { start: number; end: number };
}

const conf = (await import(join(projectRoot(), 'plugins', 'nginx', 'conf.js'))) as ConfModule;
const localFs = {
  readText: (p: string) => readFile(p, 'utf8'),
  readdir: async (p: string) => (await readdir(p, { withFileTypes: true })).map((e) => ({ name: e.name, type: e.isDirectory() ? 'directory' : 'file' })),
};

let tmp: { dir: string; remove(): Promise<void> };
beforeAll(async () => {
  tmp = await tempPrefix('abctl-nginx-conf-');
});
afterAll(async () => {
  await tmp?.remove();
});

describe('tokenizer and parser', () => {
  it('reads quotes, escapes, ${variables} and comments as nginx does', () => {
    const src = [
      'log_format main \'$remote_addr "$request" ; # not a comment\';',
      'add_header X-A "a\\"b" always; # a comment { ; }',
      'return 200 ${scheme}://$host;',
      'set $x a\\;b;',
      'location ~ "^/a{2}$" { }',
    ].join('\n');
    const words = conf.tokenize(src, 'x.conf').filter((t) => t.kind === 'word').map((t) => t.text);
    expect(words).toEqual(['log_format', 'main', '$remote_addr "$request" ; # not a comment', 'add_header', 'X-A', 'a"b', 'always', 'return', '200', '${scheme}://$host', 'set', '$x', 'a;b', 'location', '~', '^/a{2}$']);
    const tree = conf.parse(src, 'x.conf');
    expect(tree.map((d) => [d.name, d.line, d.block === undefined ? 'simple' : `block of ${d.block.length}`])).toEqual([
      ['log_format', 1, 'simple'],
      ['add_header', 2, 'simple'],
      ['return', 3, 'simple'],
      ['set', 4, 'simple'],
      ['location', 5, 'block of 0'],
    ]);
  });

  it('names the file and line of a syntax error', () => {
    expect(() => conf.parse('http {\n  server {\n    listen 80;\n  }\n', '/etc/nginx/nginx.conf')).toThrow(/^\/etc\/nginx\/nginx\.conf:1: a "\{" is not closed/);
    expect(() => conf.parse('events { }\n}\n', 'a.conf')).toThrow(/^a\.conf:2: unexpected "\}"/);
    expect(() => conf.parse('user www-data', 'b.conf')).toThrow(/^b\.conf:1: directive "user" has no ending/);
    expect(() => conf.parse('root "/srv;\n', 'c.conf')).toThrow(/^c\.conf:1: unterminated " string/);
  });

  it('reads every form of listen', () => {
    expect(conf.parseListen('8080')).toEqual({ address: undefined, port: 8080, unix: false });
    expect(conf.parseListen('127.0.0.1:81')).toEqual({ address: '127.0.0.1', port: 81, unix: false });
    expect(conf.parseListen('[::]:443')).toEqual({ address: '[::]', port: 443, unix: false });
    expect(conf.parseListen('[::1]')).toEqual({ address: '[::1]', port: 80, unix: false });
    expect(conf.parseListen('localhost')).toEqual({ address: 'localhost', port: 80, unix: false });
    expect(conf.parseListen('*:8000')).toEqual({ address: '*', port: 8000, unix: false });
    expect(conf.parseListen('unix:/run/nginx.sock')).toMatchObject({ port: undefined, unix: true });
  });
});

describe('the include tree', () => {
  it('follows includes relative to the configuration directory, globs sorted, hidden files left out, contexts kept', async () => {
    const dir = join(tmp.dir, 'tree');
    await mkdir(join(dir, 'sites'), { recursive: true });
    await writeFile(join(dir, 'nginx.conf'), 'user nobody;\npid run/nginx.pid;\nhttp {\n  include sites/*.conf;\n}\nstream {\n  server { listen 9000; }\n}\n');
    await writeFile(join(dir, 'sites', 'b.conf'), 'server { listen 8002 ssl; server_name b.example; root /srv/b; }\n');
    await writeFile(join(dir, 'sites', 'a.conf'), 'upstream app { server 10.0.0.1:80 weight=2; server 10.0.0.2:80 backup; }\nserver { listen 8001; location / { proxy_pass http://app; } }\n');
    await writeFile(join(dir, 'sites', '.hidden.conf'), 'this would not parse {');
    await writeFile(join(dir, 'sites', 'c.conf.off'), 'nor this {');
    const tree = await conf.readConfigTree(localFs, join(dir, 'nginx.conf'));
    expect([...tree.files.keys()]).toEqual([join(dir, 'nginx.conf'), join(dir, 'sites', 'a.conf'), join(dir, 'sites', 'b.conf')]);
    const d = conf.describeConfig(tree);
    expect(d.listens.map((l) => [l.port, l.context, l.ssl])).toEqual([
      [8001, 'http', false],
      [8002, 'http', true],
      [9000, 'stream', false],
    ]);
    expect(d.upstreams.map((u) => [u.name, u.servers.map((s) => s.args.map((a) => a.text).join(' '))])).toEqual([['app', ['10.0.0.1:80 weight=2', '10.0.0.2:80 backup']]]);
    expect(d.roots).toEqual(['/srv/b']);
    expect([d.user, d.pid]).toEqual(['nobody', 'run/nginx.pid']);
  });

  it('refuses an include cycle, naming the chain', async () => {
    const dir = join(tmp.dir, 'cycle');
    await mkdir(dir);
    await writeFile(join(dir, 'nginx.conf'), 'include a.conf;\n');
    await writeFile(join(dir, 'a.conf'), 'include nginx.conf;\n');
    await expect(conf.readConfigTree(localFs, join(dir, 'nginx.conf'))).rejects.toThrow(/includes itself \(through .*nginx\.conf -> .*a\.conf\)/);
  });
});

describe('templates', () => {
  it('replaces only the spans asked for, escapes the file\'s own {{, and renders back to what nginx -t accepts', async () => {
    const dir = join(tmp.dir, 'tpl');
    await mkdir(join(dir, 'logs'), { recursive: true });
    const src = [
      'pid logs/nginx.pid;',
      'error_log logs/error.log;',
      'events { }',
      'http {',
      '  access_log off;',
      '  # a literal {{ stays as it is',
      '  upstream app {',
      '    keepalive 4;',
      '    server 127.0.0.1:9001;',
      '    server 127.0.0.1:9002 max_fails=3;',
      '  }',
      '  server { listen 127.0.0.1:8080; location / { proxy_pass http://app; } }',
      '}',
      '',
    ].join('\n');
    const d = conf.describeConfig({ files: new Map([['n.conf', { text: src, directives: conf.parse(src, 'n.conf') }]]), root: conf.parse(src, 'n.conf') } as unknown as Tree);
    const [first, second] = d.upstreams[0]!.servers;
    const listen = (d.listens[0] as unknown as { directive: Directive }).directive.args[0]!;
    const template = conf.applyEdits(src, [
      { start: first!.start, end: first!.end, text: '{{[upstream.app.servers]}}' },
      { ...conf.lineSpan(src, second!), text: '' },
      { start: listen.start, end: listen.end, text: '{{[listen.http.address]}}:{{[listen.http.port]}}' },
    ]);
    expect(template).toContain('# a literal \\{{ stays as it is');
    expect(template).toContain('    keepalive 4;\n    {{[upstream.app.servers]}}\n  }');
    const rendered = renderTemplate({ name: 'n.conf', text: template }, { 'upstream.app.servers': 'server 10.1.1.1:80;\n    server 10.1.1.2:80;', 'listen.http.address': '*', 'listen.http.port': 18080 });
    expect(rendered).toBe(
      src
        .replace('    server 127.0.0.1:9001;\n    server 127.0.0.1:9002 max_fails=3;\n', '    server 10.1.1.1:80;\n    server 10.1.1.2:80;\n')
        .replace('listen 127.0.0.1:8080', 'listen *:18080'),
    );
    await writeFile(join(dir, 'nginx.conf'), rendered);
    execFileSync('/usr/sbin/nginx', ['-t', '-q', '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'pipe' });
  });
});
