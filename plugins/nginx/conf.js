// Reading nginx's configuration: a tokenizer of its syntax that keeps source offsets (so a
// file can be turned into a template by replacing exact spans), the include tree, and what
// the plugin needs from it (listens, server names, upstreams, roots, runtime paths).
//
// Written here rather than taken from npm: the parsers there (nginx-conf, @webantic/nginx-config-parser)
// build a tree without source positions and write files back reformatted, and this code must also
// run inside an appliance bundle, where only Node's built-in modules are available.

import { posix } from 'node:path';

/** Where a config problem is: file and line. */
function at(file, line) {
  return `${file}:${line}`;
}

function syntaxError(file, line, message) {
  return Object.assign(new Error(`${at(file, line)}: ${message}`), {
    code: 'NGINX_CONF_SYNTAX',
    hint: `check it with: nginx -t -c ${file} (the plugin reads the same syntax nginx does)`,
  });
}

/**
 * Tokens of one file: `{ kind: 'word', text, start, end, line }` for words (quotes and
 * escapes removed from `text`; `start`/`end` cover the source, quotes included) and
 * `{ kind: ';' | '{' | '}', start, end, line }` for the punctuation. Comments are skipped.
 */
export function tokenize(src, file = 'nginx.conf') {
  const out = [];
  let i = 0;
  let line = 1;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === ';' || c === '{' || c === '}') {
      out.push({ kind: c, start: i, end: i + 1, line });
      i++;
      continue;
    }
    const start = i;
    const startLine = line;
    let text = '';
    if (c === '"' || c === "'") {
      i++;
      for (;;) {
        if (i >= n) throw syntaxError(file, startLine, `unterminated ${c} string`);
        const d = src[i];
        if (d === '\\' && i + 1 < n) {
          const e = src[i + 1];
          // nginx turns \t \r \n into the characters and drops the backslash before anything else.
          text += e === 't' ? '\t' : e === 'r' ? '\r' : e === 'n' ? '\n' : e;
          if (e === '\n') line++;
          i += 2;
          continue;
        }
        if (d === c) {
          i++;
          break;
        }
        if (d === '\n') line++;
        text += d;
        i++;
      }
    } else {
      while (i < n) {
        const d = src[i];
        if (d === '\\' && i + 1 < n) {
          text += src[i + 1];
          i += 2;
          continue;
        }
        // `${name}` is a variable inside a word, not a block.
        if (d === '$' && src[i + 1] === '{') {
          const close = src.indexOf('}', i);
          if (close === -1) throw syntaxError(file, line, 'unterminated ${...} variable');
          text += src.slice(i, close + 1);
          i = close + 1;
          continue;
        }
        if (d === ' ' || d === '\t' || d === '\r' || d === '\n' || d === ';' || d === '{' || d === '}') break;
        // A quote inside a word is an ordinary character (nginx reads `a"b` as one word).
        text += d;
        i++;
      }
    }
    out.push({ kind: 'word', text, start, end: i, line: startLine });
  }
  return out;
}

/**
 * Directives of one file as a tree: `{ name, args, nameToken, start, end, line, file, block }`,
 * `block` being the child directives of `name ... { }` (undefined for `name ...;`); `end` is
 * the offset after the `;` or the closing `}`.
 */
export function parse(src, file = 'nginx.conf') {
  const tokens = tokenize(src, file);
  let pos = 0;
  const readBlock = (depth, openLine) => {
    const list = [];
    for (;;) {
      const t = tokens[pos];
      if (t === undefined) {
        if (depth > 0) throw syntaxError(file, openLine, 'a "{" is not closed before the end of the file');
        return list;
      }
      if (t.kind === '}') {
        if (depth === 0) throw syntaxError(file, t.line, 'unexpected "}"');
        pos++;
        return list;
      }
      if (t.kind !== 'word') throw syntaxError(file, t.line, `unexpected "${t.kind}"`);
      const args = [];
      pos++;
      for (;;) {
        const a = tokens[pos];
        if (a === undefined) throw syntaxError(file, t.line, `directive "${t.text}" has no ending ";" or "{"`);
        if (a.kind === 'word') {
          args.push(a);
          pos++;
          continue;
        }
        if (a.kind === ';') {
          pos++;
          list.push({ name: t.text, args, nameToken: t, start: t.start, end: a.end, line: t.line, file, block: undefined });
          break;
        }
        if (a.kind === '{') {
          pos++;
          const d = { name: t.text, args, nameToken: t, start: t.start, end: -1, line: t.line, file, block: [] };
          d.block = readBlock(depth + 1, a.line);
          d.end = tokens[pos - 1].end;
          list.push(d);
          break;
        }
        throw syntaxError(file, a.line, `directive "${t.text}" is not terminated by ";"`);
      }
    }
  };
  return readBlock(0, 1);
}

// ---------------------------------------------------------------- the include tree

/** `*`, `?` and `[...]` of one path segment, as glob(3) reads them (names starting with `.` need an explicit `.`). */
export function segmentMatcher(pattern) {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) re += '\\[';
      else {
        let body = pattern.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  const rx = new RegExp(`^${re}$`);
  return (name) => (name.startsWith('.') && !pattern.startsWith('.') ? false : rx.test(name));
}

const hasMagic = (s) => /[*?[]/.test(s);

/**
 * Files an `include` names, sorted as glob(3) sorts them. `fs` is `{ readdir(dir) -> [{ name, type }] }`.
 * Only the last segment may hold wildcards (as every layout seen in practice does).
 */
export async function expandInclude(fs, pattern) {
  if (!hasMagic(pattern)) return [pattern];
  const dir = posix.dirname(pattern);
  if (hasMagic(dir)) {
    throw Object.assign(new Error(`include ${pattern}: wildcards are supported in the file name only, not in the directories above it`), {
      code: 'NGINX_INCLUDE_UNSUPPORTED',
      hint: 'list the directories in separate include directives',
    });
  }
  const match = segmentMatcher(posix.basename(pattern));
  let entries;
  try {
    entries = await fs.readdir(dir);
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.type !== 'directory' && match(e.name))
    .map((e) => `${dir}/${e.name}`)
    .sort();
}

/**
 * Reads a configuration and every file it includes. `fs` is `{ readText(path), readdir(path) }`
 * on absolute paths. Returns `{ files: Map(path -> { text, directives }), root: directives }`,
 * where each `include` directive gets `included: [path...]`.
 */
export async function readConfigTree(fs, confFile) {
  const confDir = posix.dirname(confFile);
  const files = new Map();
  const load = async (path, stack) => {
    if (stack.includes(path)) {
      throw Object.assign(new Error(`${path} includes itself (through ${stack.join(' -> ')})`), { code: 'NGINX_INCLUDE_CYCLE' });
    }
    let entry = files.get(path);
    if (entry === undefined) {
      const text = await fs.readText(path);
      entry = { text, directives: parse(text, path) };
      files.set(path, entry);
    }
    await resolveIncludes(entry.directives, [...stack, path]);
    return entry;
  };
  const resolveIncludes = async (list, stack) => {
    for (const d of list) {
      if (d.name === 'include' && d.args.length === 1 && d.block === undefined) {
        const pattern = posix.resolve(confDir, d.args[0].text);
        d.included = await expandInclude(fs, pattern);
        for (const p of d.included) await load(p, stack);
      } else if (d.block) await resolveIncludes(d.block, stack);
    }
  };
  const root = await load(confFile, []);
  return { confFile, confDir, files, root: root.directives };
}

/**
 * Visits every directive in document order, includes followed, with the block names above it
 * (`['http', 'server']`). `visit(directive, contexts)`.
 */
export function walk(tree, visit) {
  const go = (list, contexts) => {
    for (const d of list) {
      visit(d, contexts);
      if (d.included) for (const p of d.included) go(tree.files.get(p).directives, contexts);
      if (d.block) go(d.block, [...contexts, d.name]);
    }
  };
  go(tree.root, []);
}

// ---------------------------------------------------------------- what the plugin reads

/**
 * A listen argument: `{ address, port, unix }`. `port` is undefined for a unix socket; an
 * address without a port means 80, as nginx says.
 */
export function parseListen(arg) {
  if (arg.startsWith('unix:')) return { address: arg, port: undefined, unix: true };
  if (/^\d+$/.test(arg)) return { address: undefined, port: Number(arg), unix: false };
  if (arg.startsWith('[')) {
    const close = arg.indexOf(']');
    const rest = arg.slice(close + 1);
    return { address: arg.slice(0, close + 1), port: rest.startsWith(':') ? Number(rest.slice(1)) : 80, unix: false };
  }
  const colon = arg.lastIndexOf(':');
  if (colon !== -1 && /^\d+$/.test(arg.slice(colon + 1))) return { address: arg.slice(0, colon), port: Number(arg.slice(colon + 1)), unix: false };
  return { address: arg, port: 80, unix: false };
}

const TEMP_PATHS = ['client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path'];

/**
 * What the configuration says, in document order:
 * - `listens`: `{ directive, context ('http' | 'stream'), address, port, ssl }` (unix sockets left out)
 * - `servers`: `{ context, listens, serverNames: directive | undefined }` per server block
 * - `upstreams`: `{ name, context, directive, servers: [directive] }`
 * - `roots`: `root` values (as written)
 * - `user`, `pid`, `daemon`: the main context's values; `errorLogs`, `accessLogs`, `tempPaths` (as written)
 */
export function describeConfig(tree) {
  const out = { listens: [], servers: [], upstreams: [], roots: [], user: undefined, pid: undefined, daemon: undefined, errorLogs: [], accessLogs: [], tempPaths: [] };
  let server;
  let upstream;
  walk(tree, (d, contexts) => {
    const parent = contexts[contexts.length - 1];
    const top = contexts[0];
    if (d.name === 'server' && d.block && (parent === 'http' || parent === 'stream')) {
      server = { context: parent, listens: [], serverNames: undefined };
      out.servers.push(server);
    } else if (d.name === 'upstream' && d.block && (parent === 'http' || parent === 'stream') && d.args.length === 1) {
      upstream = { name: d.args[0].text, context: parent, directive: d, servers: [] };
      out.upstreams.push(upstream);
    } else if (d.name === 'listen' && parent === 'server' && server && d.args.length > 0) {
      const l = parseListen(d.args[0].text);
      if (!l.unix) {
        const listen = { directive: d, context: server.context, address: l.address, port: l.port, ssl: d.args.slice(1).some((a) => a.text === 'ssl') };
        server.listens.push(listen);
        out.listens.push(listen);
      }
    } else if (d.name === 'server_name' && parent === 'server' && server && d.args.length > 0) {
      server.serverNames = d;
    } else if (d.name === 'server' && parent === 'upstream' && upstream && d.args.length > 0) {
      upstream.servers.push(d);
    } else if (d.name === 'root' && top === 'http' && d.args.length === 1) {
      out.roots.push(d.args[0].text);
    } else if (contexts.length === 0 && d.name === 'user' && d.args.length > 0) {
      out.user = d.args[0].text;
    } else if (contexts.length === 0 && d.name === 'pid' && d.args.length === 1) {
      out.pid = d.args[0].text;
    } else if (contexts.length === 0 && d.name === 'daemon' && d.args.length === 1) {
      out.daemon = d.args[0].text;
    } else if (d.name === 'error_log' && d.args.length > 0) {
      out.errorLogs.push(d.args[0].text);
    } else if (d.name === 'access_log' && d.args.length > 0 && d.args[0].text !== 'off') {
      out.accessLogs.push(d.args[0].text);
    } else if (TEMP_PATHS.includes(d.name) && d.args.length > 0) {
      out.tempPaths.push({ directive: d.name, path: d.args[0].text });
    }
  });
  return out;
}

/** A log target that is a file (not `stderr`, `syslog:`, `memory:`), or undefined. */
export function logFile(value) {
  if (value === 'stderr' || value.startsWith('syslog:') || value.startsWith('memory:') || value.includes('$')) return undefined;
  return value;
}

/** What `nginx -V` says about how the binary was built: `--prefix`, `--conf-path`, ... and the version. */
export function parseBuildInfo(text) {
  const version = /nginx version: nginx\/(\S+)/.exec(text)?.[1];
  const opts = new Map();
  const args = /configure arguments:(.*)/.exec(text)?.[1] ?? '';
  for (const m of args.matchAll(/--([a-z-]+)(?:=('[^']*'|\S*))?/g)) opts.set(m[1], (m[2] ?? '').replace(/^'|'$/g, ''));
  return {
    version,
    prefix: opts.get('prefix') || '/usr/local/nginx',
    confPath: opts.get('conf-path') || 'conf/nginx.conf',
    pidPath: opts.get('pid-path') || 'logs/nginx.pid',
    errorLogPath: opts.get('error-log-path') || 'logs/error.log',
    httpLogPath: opts.get('http-log-path') || 'logs/access.log',
    modulesPath: opts.get('modules-path') || 'modules',
    user: opts.get('user') || 'nobody',
    tempPaths: {
      client_body_temp_path: opts.get('http-client-body-temp-path') || 'client_body_temp',
      proxy_temp_path: opts.get('http-proxy-temp-path') || 'proxy_temp',
      fastcgi_temp_path: opts.get('http-fastcgi-temp-path') || 'fastcgi_temp',
      uwsgi_temp_path: opts.get('http-uwsgi-temp-path') || 'uwsgi_temp',
      scgi_temp_path: opts.get('http-scgi-temp-path') || 'scgi_temp',
    },
  };
}

/**
 * The runtime paths nginx will use with this configuration, absolute, before any offset:
 * pid file, log files, temp directories (the configured ones, else the build's defaults),
 * and the user the workers run as.
 */
export function runtimePaths(desc, build, prefix) {
  const abs = (p) => posix.resolve(prefix, p);
  const tempPaths = new Map(Object.entries(build.tempPaths).map(([k, v]) => [k, abs(v)]));
  for (const t of desc.tempPaths) tempPaths.set(t.directive, abs(t.path));
  const errorLogs = (desc.errorLogs.length ? desc.errorLogs : [build.errorLogPath]).map(logFile).filter(Boolean).map(abs);
  const accessLogs = desc.accessLogs.map(logFile).filter(Boolean).map(abs);
  if (desc.accessLogs.length === 0 && logFile(build.httpLogPath)) accessLogs.push(abs(build.httpLogPath));
  return {
    pid: abs(desc.pid ?? build.pidPath),
    logs: [...new Set([...errorLogs, ...accessLogs])],
    tempDirs: [...new Set(tempPaths.values())],
    user: desc.user ?? build.user,
  };
}

// ---------------------------------------------------------------- templates

/** Handlebars reads `{{` as a variable: the file's own ones are written `\{{` (docs/templates.md). */
export function escapeTemplateText(text) {
  return text.replace(/\{\{/g, '\\{{');
}

/** A handlebars variable for a property name: brackets hold any name without `]`. */
export function variable(name) {
  return name.includes(']') ? `{{prop ${JSON.stringify(name)}}}` : `{{[${name}]}}`;
}

/**
 * Turns one file's text into a template by replacing spans: `edits` are `{ start, end, text }`
 * (text already a template; it is not escaped), applied from the end. The text between edits
 * is escaped for handlebars.
 */
export function applyEdits(src, edits) {
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  let out = '';
  let pos = 0;
  for (const e of sorted) {
    if (e.start < pos) throw new Error(`overlapping template edits at offset ${e.start}`);
    out += escapeTemplateText(src.slice(pos, e.start)) + e.text;
    pos = e.end;
  }
  return out + escapeTemplateText(src.slice(pos));
}

/** The span of a directive's whole line when it stands alone on it (so deleting it leaves no blank line). */
export function lineSpan(src, d) {
  let start = d.start;
  while (start > 0 && (src[start - 1] === ' ' || src[start - 1] === '\t')) start--;
  let end = d.end;
  while (end < src.length && (src[end] === ' ' || src[end] === '\t' || src[end] === '\r')) end++;
  const alone = (start === 0 || src[start - 1] === '\n') && (end === src.length || src[end] === '\n');
  return alone ? { start, end: end < src.length ? end + 1 : end } : { start: d.start, end: d.end };
}

/** The white space before a directive on its line (for writing more lines like it). */
export function indentOf(src, d) {
  let start = d.start;
  while (start > 0 && (src[start - 1] === ' ' || src[start - 1] === '\t')) start--;
  return src.slice(start, d.start);
}
