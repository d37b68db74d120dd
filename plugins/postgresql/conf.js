// Reading postgresql.conf and pg_hba.conf, and turning them into the templates rehydration fills in.
// Written here rather than taken from a library: the plugin is plain ESM without dependencies (it is
// copied into each appliance bundle as it is), and both formats are small line-based ones.

/** Settings a deployment changes; rehydration appends them at the end of postgresql.conf. */
export const MANAGED = ['listen_addresses', 'port', 'max_connections'];

/**
 * One `name = value` (or `name value`) line of postgresql.conf: value unquoted ('' doubled or
 * backslash-escaped quotes), trailing comment dropped. Undefined for comments and blank lines.
 */
export function parseSettingLine(line) {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:=\s*|\s+)(.*)$/.exec(line);
  if (!m) return undefined;
  const name = m[1].toLowerCase();
  const rest = m[2];
  if (rest.startsWith("'")) {
    let value = '';
    for (let i = 1; i < rest.length; i++) {
      const c = rest[i];
      if (c === '\\' && i + 1 < rest.length) {
        value += rest[++i];
      } else if (c === "'") {
        if (rest[i + 1] === "'") {
          value += "'";
          i++;
        } else return { name, value };
      } else value += c;
    }
    return { name, value };
  }
  return { name, value: rest.replace(/#.*$/, '').trim() };
}

/** The settings of one file: the last occurrence of each name wins, as in the server. */
export function parseConf(text) {
  const settings = new Map();
  for (const line of text.split('\n')) {
    const s = parseSettingLine(line);
    if (s) settings.set(s.name, s.value);
  }
  return settings;
}

const quote = (v) => `'${v.replace(/'/g, "''")}'`;

/**
 * postgresql.conf as a template:
 * - the managed settings (and `ssl`) are commented out where they stand and set again in a block
 *   at the very end, after every include, so that no included file can override what the plan says;
 * - settings naming a path in the data or configuration directory are rewritten relative to the
 *   `data.directory` / `config.directory` variables, which rehydration gives the file sets' roots
 *   (the same paths as on the reference host, or a test root).
 * Braces in the original text are escaped so that handlebars leaves them alone.
 */
export function postgresqlConfTemplate(text, { dataDir, configDir, ssl }) {
  const managed = new Set([...MANAGED, ...(ssl === undefined ? [] : ['ssl'])]);
  const pathVar = (value) => {
    for (const [dir, variable] of [
      [configDir, 'config.directory'],
      [dataDir, 'data.directory'],
    ]) {
      if (value === dir) return `{{[${variable}]}}`;
      if (value.startsWith(`${dir}/`)) return `{{[${variable}]}}${escapeBraces(value.slice(dir.length))}`;
    }
    return undefined;
  };
  const out = [];
  for (const line of text.split('\n')) {
    const s = parseSettingLine(line);
    if (s && managed.has(s.name)) {
      out.push(`#${escapeBraces(line)}\t# abctl: set at the end of this file`);
      continue;
    }
    // Any path into the data or configuration directory (data_directory, hba_file, ssl_cert_file...).
    if (s && s.value.startsWith('/')) {
      const v = pathVar(s.value);
      if (v !== undefined) {
        out.push(`${s.name} = '${v}'`);
        continue;
      }
    }
    out.push(escapeBraces(line));
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  out.push(
    '',
    '# Set by abctl at deployment from the appliance\'s properties; later than any include, so these win.',
    "listen_addresses = '{{[listen_addresses]}}'",
    'port = {{port}}',
    'max_connections = {{max_connections}}',
    ...(ssl === undefined ? [] : ['ssl = {{#if ssl}}on{{else}}off{{/if}}']),
    '',
  );
  return out.join('\n');
}

function escapeBraces(s) {
  return s.replace(/\{\{/g, '\\{{');
}

/** A pg_hba.conf line split into fields (comments dropped); undefined for blank and comment lines. */
export function hbaFields(line) {
  const t = line.replace(/#.*$/, '').trim();
  return t ? t.split(/\s+/) : undefined;
}

const PASSWORD_METHODS = new Set(['scram-sha-256', 'md5', 'password']);
const HOST_TYPES = new Set(['host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc']);

/**
 * The lines the `hba.clients` property stands for: `host` records for every database and every
 * user, given an address (CIDR) — not replication, not other databases or users, which stay as
 * they are. Returns their addresses and the method of the first.
 */
export function managedHostLines(text) {
  const addresses = [];
  let method;
  for (const line of text.split('\n')) {
    const f = hbaFields(line);
    if (!f || !HOST_TYPES.has(f[0]) || f[1] !== 'all' || f[2] !== 'all' || f.length < 5) continue;
    // `host all all 10.0.0.0 255.0.0.0 md5` has the mask as its own field.
    const address = f[3].includes('/') || !/^[\d.]+$/.test(f[4] ?? '') ? f[3] : `${f[3]}/${maskBits(f[4])}`;
    addresses.push(address);
    method ??= f[f[3] === address ? 4 : 5];
  }
  return { addresses, method };
}

function maskBits(mask) {
  return mask.split('.').reduce((n, part) => n + ((Number(part) >>> 0).toString(2).match(/1/g) ?? []).length, 0);
}

export const HBA_MARKER = '# abctl:hba.clients';

/**
 * pg_hba.conf as a template: the managed host lines go, and where the first one was, one marker
 * line carries `hba.clients` and `hba.method`; rehydration expands it into one line per client
 * (a template has no loops). A file without such lines gets the marker at its end.
 */
export function hbaTemplate(text) {
  const out = [];
  let placed = false;
  const marker = `${HBA_MARKER} {{[hba.clients]}} {{[hba.method]}}`;
  for (const line of text.split('\n')) {
    const f = hbaFields(line);
    if (f && HOST_TYPES.has(f[0]) && f[1] === 'all' && f[2] === 'all' && f.length >= 5) {
      if (!placed) out.push(marker);
      placed = true;
      continue;
    }
    out.push(escapeBraces(line));
  }
  if (!placed) {
    while (out.length > 0 && out[out.length - 1] === '') out.pop();
    out.push('', '# Clients allowed with a password (abctl property hba.clients):', marker, '');
  }
  return out.join('\n');
}

/**
 * Expands the marker line of a rendered pg_hba.conf: one `host all all <cidr> <method>` per
 * comma-separated client. Throws on an address that is not a CIDR (or `all`/`samehost`/`samenet`).
 */
export function expandHba(rendered, isIP) {
  return rendered
    .split('\n')
    .flatMap((line) => {
      if (!line.startsWith(`${HBA_MARKER} `)) return [line];
      // The method is the last word; the clients before it may hold spaces after their commas.
      const rest = line.slice(HBA_MARKER.length + 1).trim();
      const cut = rest.lastIndexOf(' ');
      const clients = cut < 0 ? '' : rest.slice(0, cut);
      const method = cut < 0 ? rest : rest.slice(cut + 1);
      return clients
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean)
        .map((c) => {
          checkClient(c, isIP);
          return `host    all             all             ${c.padEnd(23)} ${method}`;
        });
    })
    .join('\n');
}

function checkClient(c, isIP) {
  if (['all', 'samehost', 'samenet'].includes(c)) return;
  const [addr, bits, extra] = c.split('/');
  const kind = isIP(addr ?? '');
  const max = kind === 6 ? 128 : 32;
  if (kind === 0 || extra !== undefined || bits === undefined || !/^\d+$/.test(bits) || Number(bits) > max) {
    throw Object.assign(new Error(`hba.clients: "${c}" is not an address range in CIDR form`), {
      code: 'POSTGRESQL_HBA_CLIENT',
      hint: 'give comma-separated CIDRs such as 10.0.0.0/8,127.0.0.1/32 (0.0.0.0/0 for any IPv4 client) in the deployment plan',
    });
  }
}

/** The method hba.clients lines use: the reference's when it asks for a password, else scram-sha-256. */
export function passwordMethod(method) {
  return method !== undefined && PASSWORD_METHODS.has(method) ? method : 'scram-sha-256';
}
