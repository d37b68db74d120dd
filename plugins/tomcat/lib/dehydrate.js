// What the Tomcat plugin records of an instance: inputs from server.xml's HTTP connectors,
// outputs from the JDBC resources of server.xml and the context files, properties, the config
// files as templates, and the file sets of CATALINA_HOME and CATALINA_BASE.

import { posix } from 'node:path';
import { parseElements, TagEditor } from './xml.js';
import { resolveLinks } from './layout.js';
import { parseProperties, resolveReferences, scanJavaOptions } from './properties.js';

/** Content resource name of a file under conf/: its relative path with `/` as `~` (names cannot hold `/`). */
export const resourceName = (rel) => rel.replaceAll('/', '~');
export const resourcePath = (name) => name.replaceAll('~', '/');
/** Content resource names of a setenv.sh template, by the tree that holds the script. */
export const SETENV = { base: 'base-bin~setenv.sh', home: 'home-bin~setenv.sh' };

/**
 * Where Tomcat finds the values of `${name}`: conf/catalina.properties (loaded into the system
 * properties at start-up, so it wins) and the literal -D options of bin/setenv.sh (CATALINA_BASE's,
 * else CATALINA_HOME's, as catalina.sh picks it). A value that becomes a deployment property is
 * templated where it lives; `claim` makes sure one line feeds one property.
 */
class PropertySources {
  constructor(files) {
    this.files = files; // [{ file, rel, name, renders, entries, editor }]
    this.claimed = new Set();
  }

  static async read(host, { base, home }, conf, realConf) {
    const files = [];
    const props = `${conf}/catalina.properties`;
    const text = await host.readTextIfExists(props);
    if (text !== undefined) files.push({ file: props, name: 'catalina.properties', renders: `${realConf}/catalina.properties`, entries: parseProperties(text), editor: new TagEditor(text) });
    for (const [tree, dir] of [['base', base], ['home', home]]) {
      const file = `${dir}/bin/setenv.sh`;
      const script = await host.readTextIfExists(file);
      if (script === undefined) continue;
      files.push({ file, name: SETENV[tree], renders: file, entries: scanJavaOptions(script), editor: new TagEditor(script) });
      break; // catalina.sh sources only the first it finds
    }
    return new PropertySources(files);
  }

  /** The effective definition of `name`: the first file that sets it, its last entry. */
  find(name) {
    for (const f of this.files) {
      const entry = f.entries.findLast((e) => e.key === name);
      if (entry) return { ...f, entry };
    }
    return undefined;
  }

  /** What a warning says about where it looked. */
  get looked() {
    return this.files.length ? this.files.map((f) => f.file).join(' and ') : 'conf/catalina.properties (there is none) and bin/setenv.sh (none either)';
  }

  /**
   * Binds an attribute of server.xml to a deployment property: a plain value is templated in
   * server.xml; `${name}` alone is templated where name is set; a value composed of several parts
   * (or resting on a `:-` default) gets the plain value in server.xml. Returns the resolved value
   * and where it lives, or undefined (with a warning) when a reference is set nowhere.
   */
  bind({ element, attribute, property, editor, file, log, variable = `{{[${property}]}}` }) {
    const raw = element.attributes[attribute];
    if (!raw.includes('${')) {
      editor.set(element, attribute, variable);
      return { value: raw, where: file };
    }
    const { value, refs } = resolveReferences(raw, (n) => this.find(n)?.entry.value);
    const missing = refs.filter((r) => !r.found && r.fallback === undefined);
    if (missing.length) {
      log.warn(`${file}: <${element.name} ${attribute}="${raw}">: ${missing.map((r) => r.name).join(', ')} ${missing.length > 1 ? 'are' : 'is'} set neither in ${this.looked} nor by a default (\${name:-value}); it is kept as written and gets no deployment property`);
      return undefined;
    }
    const [only] = refs;
    if (refs.length === 1 && only.whole && only.found && !this.claimed.has(only.name)) {
      const at = this.find(only.name);
      this.claimed.add(only.name);
      at.editor.replace(at.entry.valueStart, at.entry.end, variable);
      return { value, where: `${at.file} (${only.name})` };
    }
    log.warn(`${file}: <${element.name} ${attribute}="${raw}"> is not one property of its own (it resolves to "${value}"); the deployment writes the plain value into server.xml`);
    editor.set(element, attribute, variable);
    return { value, where: file };
  }

  /** The files that became templates. */
  templates() {
    return this.files.filter((f) => f.editor.changed).map((f) => ({ name: f.name, renders: f.renders, content: f.editor.render() }));
  }
}

const HTTP_PROTOCOL = /^(HTTP\/1\.1|.*Http11.*Protocol|.*Http2.*)$/;
const DEFAULT_DB_PORTS = { postgresql: 5432, mysql: 3306, mariadb: 3306 };

/** `jdbc:postgresql://h:5432/db?x=1` -> its parts; undefined for a URL of another shape. */
export function parseJdbcUrl(url) {
  const m = /^jdbc:([a-z0-9]+):(.*)$/i.exec(url);
  if (!m) return undefined;
  const subprotocol = m[1].toLowerCase();
  let rest = m[2];
  let host = 'localhost';
  let port = DEFAULT_DB_PORTS[subprotocol];
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?]/);
    const authority = end < 0 ? rest.slice(2) : rest.slice(2, 2 + end);
    rest = end < 0 ? '' : rest.slice(2 + end);
    // The first host of a list stands for the connection; the URL itself keeps them all.
    const first = authority.split(',')[0];
    const hp = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(first);
    if (hp?.[1]) host = hp[1];
    if (hp?.[2]) port = Number(hp[2]);
  }
  const q = rest.search(/[?;]/);
  const database = (q < 0 ? rest : rest.slice(0, q)).replace(/^\//, '');
  return { subprotocol, host, port, database, suffix: q < 0 ? '' : rest.slice(q) };
}

/** The same URL pointing at another server; database and parameters kept. */
export function repointJdbcUrl(url, host, port) {
  const p = parseJdbcUrl(url);
  if (!p) return url;
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `jdbc:${p.subprotocol}://${h}${port ? `:${port}` : ''}/${p.database}${p.suffix}`;
}

/** A value that is a plain number (not `${port.http}` or empty). */
const portOf = (v) => (/^\d+$/.test(v ?? '') && Number(v) > 0 && Number(v) < 65536 ? Number(v) : undefined);

/** Connectors and the shutdown port of server.xml, as inputs, properties and template edits. */
function describeServer(text, file, editor, sources, log) {
  const elements = parseElements(text, file);
  const inputs = [];
  const properties = [];
  const bind = (element, attribute, property, variable) => sources.bind({ element, attribute, property, editor, file, log, variable });
  const server = elements.find((e) => e.name === 'Server');
  // Only a real port is a property: Debian ships -1 (disabled), which stays as written.
  const shutdown = resolveReferences(server?.attributes.port ?? '', (n) => sources.find(n)?.entry.value).value;
  if (server && portOf(shutdown) !== undefined) {
    const bound = bind(server, 'port', 'shutdown.port');
    properties.push({ name: 'shutdown.port', type: 'int', category: 'user', required: true, value: bound.value, description: `port Tomcat listens on (127.0.0.1) for its shutdown command; set in ${bound.where}` });
  } else if (server && shutdown.includes('${')) {
    bind(server, 'port', 'shutdown.port'); // warns naming the property it missed
  }
  for (const c of elements.filter((e) => e.name === 'Connector' && e.path.includes('Service'))) {
    const protocol = c.attributes.protocol ?? 'HTTP/1.1';
    if (!HTTP_PROTOCOL.test(protocol)) continue; // AJP and others are not HTTP inputs
    const name = inputs.length === 0 ? 'http' : `http-${inputs.length + 1}`;
    const portProperty = `connector.${name}.port`;
    const resolved = resolveReferences(c.attributes.port ?? '', (n) => sources.find(n)?.entry.value).value;
    const port = portOf(resolved);
    if (port === undefined) {
      if (resolved.includes('${')) bind(c, 'port', portProperty); // warns naming the property it missed
      else log.warn(`${file}: a Connector with port="${c.attributes.port ?? ''}" is not a fixed port; it is kept as it is and gets no input`);
      continue;
    }
    const bound = bind(c, 'port', portProperty);
    const tls = c.attributes.SSLEnabled === 'true' || c.attributes.scheme === 'https';
    properties.push({ name: portProperty, type: 'int', category: 'user', required: true, value: String(port), description: `port of the ${tls ? 'HTTPS' : 'HTTP'} connector ${name}; set in ${bound.where}` });
    if (c.attributes.address !== undefined) {
      const address = bind(c, 'address', `connector.${name}.address`, `{{xml [connector.${name}.address]}}`);
      if (address) properties.push({ name: `connector.${name}.address`, type: 'string', category: 'user', required: true, value: address.value, description: `address the connector ${name} listens on (0.0.0.0: all); set in ${address.where}` });
    }
    inputs.push({ name, port, portProperty, protocols: [tls ? 'https' : 'http'], description: `server.xml Connector (${protocol})` });
  }
  return { elements, inputs, properties };
}

/** JDBC `Resource`s of one file, as outputs, properties and template edits; `taken` keeps names unique. */
function describeResources(elements, file, editor, taken) {
  const outputs = [];
  const properties = [];
  for (const r of elements.filter((e) => e.name === 'Resource' && (e.attributes.url ?? '').startsWith('jdbc:'))) {
    const url = r.attributes.url;
    const parsed = parseJdbcUrl(url);
    let name = (r.attributes.name ?? 'jdbc').replaceAll('/', '-');
    for (let n = 2; taken.has(name); n++) name = `${(r.attributes.name ?? 'jdbc').replaceAll('/', '-')}-${n}`;
    taken.add(name);
    const prefix = `jdbc.${name}`;
    properties.push(
      { name: `${prefix}.url`, type: 'string', category: 'user', required: true, value: url, description: `JDBC URL of ${r.attributes.name} (${file}); rehydrate points it at the connected database` },
      { name: `${prefix}.password`, type: 'password', category: 'user', required: true, value: r.attributes.password, description: `password of ${r.attributes.username ?? 'the user'} for ${r.attributes.name}` },
    );
    editor.set(r, 'url', `{{xml [${prefix}.url]}}`);
    editor.set(r, 'password', `{{xml [${prefix}.password]}}`);
    const connectionProperties = parsed
      ? [
          { name: 'host', value: parsed.host, description: 'database server host' },
          ...(parsed.port ? [{ name: 'port', type: 'int', value: String(parsed.port), description: 'database server port' }] : []),
          { name: 'database', value: parsed.database, description: 'database name' },
          ...(r.attributes.username ? [{ name: 'user', value: r.attributes.username, description: 'database user' }] : []),
        ]
      : [];
    outputs.push({ name, protocol: parsed?.subprotocol ?? 'jdbc', description: `JDBC resource ${r.attributes.name} (${r.attributes.driverClassName ?? 'driver not named'}) in ${file}`, connectionProperties });
  }
  return { outputs, properties };
}

/** The first user of tomcat-users.xml with a manager-* role: a property for its password and a template edit. */
function describeManager(text, file, editor) {
  const user = parseElements(text, file).find((e) => e.name === 'user' && (e.attributes.roles ?? '').split(',').some((r) => r.trim().startsWith('manager-')));
  if (!user) return [];
  editor.set(user, 'password', '{{xml [manager.password]}}');
  return [
    { name: 'manager.user', type: 'string', category: 'system', value: user.attributes.username, description: 'user of the manager application (tomcat-users.xml)' },
    { name: 'manager.password', type: 'password', category: 'user', required: true, value: user.attributes.password, description: `password of ${user.attributes.username} (tomcat-users.xml)` },
  ];
}

/** Escapes a file name so that an exclude pattern matches exactly it. */
const literal = (name) => name.replace(/[*?[\]{}()!|\\+@]/g, '\\$&');

/**
 * Debian's jars in CATALINA_HOME/lib (and any link in bin/ or a base's lib/) point into
 * /usr/share/java. An instance must get the real files, so each directory those links lead to
 * becomes a file set that keeps only the files reached (and the links between them).
 */
async function linkedFileSets(host, dirs, roots) {
  const needed = new Map(); // directory -> names
  const inside = (p) => roots.some((r) => p === r || p.startsWith(`${r}/`));
  for (const dir of dirs) {
    for (const entry of await host.readdir(dir).catch(() => [])) {
      if (entry.type !== 'symlink') continue;
      let at = `${dir}/${entry.name}`;
      for (let hops = 0; hops < 16; hops++) {
        const st = await host.lstat(at);
        if (st?.type !== 'symlink') break;
        at = posix.resolve(posix.dirname(at), st.linkTarget);
        if (!inside(at)) {
          const d = posix.dirname(at);
          if (!needed.has(d)) needed.set(d, new Set());
          needed.get(d).add(posix.basename(at));
        }
      }
    }
  }
  const sets = [];
  let n = 0;
  for (const [dir, names] of needed) {
    const excludes = (await host.readdir(dir)).filter((e) => !names.has(e.name)).map((e) => literal(e.name));
    sets.push({
      name: dir === '/usr/share/java' ? 'java-libs' : `linked-${++n}`,
      root: dir,
      excludes,
      owner: 'root',
      group: 'root',
    });
  }
  return sets;
}

/** Reads the instance and returns what createAppliance and addContentResource need. */
export async function describeInstance(host, { base, home }, log) {
  const conf = `${base}/conf`;
  const realConf = (await resolveLinks(host, conf)) ?? conf;
  const taken = new Set();
  const templates = [];
  const properties = [];
  const outputs = [];

  const serverFile = `${conf}/server.xml`;
  const serverText = await host.readText(serverFile);
  const serverEditor = new TagEditor(serverText);
  const sources = await PropertySources.read(host, { base, home }, conf, realConf);
  const server = describeServer(serverText, serverFile, serverEditor, sources, log);
  if (server.inputs.length === 0) {
    throw Object.assign(new Error(`${serverFile} has no HTTP Connector with a fixed port`), { code: 'TOMCAT_NO_CONNECTOR', hint: 'an instance needs at least one <Connector port="..." protocol="HTTP/1.1"/> inside a <Service>' });
  }
  properties.push(...server.properties);
  const global = describeResources(server.elements, serverFile, serverEditor, taken);
  properties.push(...global.properties);
  outputs.push(...global.outputs);
  templates.push({ rel: 'server.xml', content: serverEditor.render() });
  for (const t of sources.templates()) templates.push(t);

  const contextFiles = ['context.xml', ...(await host.glob('Catalina/*/*.xml', { cwd: realConf }))];
  for (const rel of contextFiles) {
    const file = `${conf}/${rel}`;
    const text = await host.readTextIfExists(file);
    if (text === undefined) continue;
    const editor = new TagEditor(text);
    const found = describeResources(parseElements(text, file), file, editor, taken);
    properties.push(...found.properties);
    outputs.push(...found.outputs);
    if (editor.changed) templates.push({ rel, content: editor.render() });
  }

  const usersFile = `${conf}/tomcat-users.xml`;
  const usersText = await host.readTextIfExists(usersFile);
  if (usersText !== undefined) {
    const editor = new TagEditor(usersText);
    properties.push(...describeManager(usersText, usersFile, editor));
    if (editor.changed) templates.push({ rel: 'tomcat-users.xml', content: editor.render() });
  }

  const fileSets = [
    { name: 'home', root: home, owner: 'root', group: 'root' },
    // logs, work and temp are Tomcat's own output: kept as (empty) directories or links, not copied.
    { name: 'base', root: base, excludes: ['logs/*', 'work/*', 'temp/*'], owner: 'tomcat', group: 'tomcat' },
  ];
  if (realConf !== conf && !realConf.startsWith(`${base}/`)) {
    // Debian: conf is a link to /etc/tomcat10, files root:tomcat 0640 as the package installs them.
    fileSets.push({ name: 'conf', root: realConf, owner: 'root', group: 'tomcat' });
  }
  fileSets.push(...(await linkedFileSets(host, [`${home}/bin`, `${home}/lib`, `${base}/lib`], [home, base, realConf])));
  return { inputs: server.inputs, outputs, properties, templates, fileSets, realConf };
}
