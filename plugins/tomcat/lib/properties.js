// Where a `${name}` in server.xml gets its value: Tomcat replaces it with a Java system property,
// and it loads conf/catalina.properties into the system properties at start-up (overriding a -D of
// the same name given to the JVM, e.g. in bin/setenv.sh). This module reads both sources and
// resolves references the way Tomcat 10's property replacement does, so the plugin can turn a
// `port="${http.port}"` into an input whose value lives in catalina.properties.
//
// The .properties parser is written here (about 60 lines) rather than taken from npm: the plugin
// directory travels alone and would have to vendor it, and the packages at hand either do not
// report where each value sits in the text (which the template needs) or add features Java lacks.

const WS = new Set([' ', '\t', '\f']);

/** The natural lines of `text`: `{ start, end }` offsets, end before the terminator (\n, \r or \r\n). */
function naturalLines(text) {
  const lines = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\n' && c !== '\r') continue;
    lines.push({ start, end: i });
    if (c === '\r' && text[i + 1] === '\n') i++;
    start = i + 1;
  }
  if (start < text.length) lines.push({ start, end: text.length });
  return lines;
}

/** Whether a natural line ends with an odd number of backslashes (it continues on the next one). */
function continues(text, { start, end }) {
  let n = 0;
  for (let i = end - 1; i >= start && text[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

/** Java's escapes: \t \n \r \f \uXXXX; any other `\x` is x. */
function unescape(s) {
  return s.replace(/\\(u[0-9a-fA-F]{4}|[\s\S])/g, (_, e) => {
    if (e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    return { t: '\t', n: '\n', r: '\r', f: '\f' }[e] ?? e;
  });
}

/**
 * Entries of a Java .properties text in order, as java.util.Properties.load reads them:
 * `{ key, value, valueStart, end }`, where `text.slice(valueStart, end)` is the raw value (with
 * any continuation lines). A later entry of the same key wins, as in Java.
 */
export function parseProperties(text) {
  const entries = [];
  const lines = naturalLines(text);
  for (let l = 0; l < lines.length; l++) {
    let i = lines[l].start;
    while (i < lines[l].end && WS.has(text[i])) i++;
    if (i === lines[l].end || text[i] === '#' || text[i] === '!') continue; // blank or comment: never continued
    // Join the continuation lines: the backslash goes, and so does the next line's leading blank.
    let logical = '';
    const startLine = l;
    let from = i;
    for (;;) {
      const line = lines[l];
      if (continues(text, line) && l + 1 < lines.length) {
        logical += text.slice(from, line.end - 1);
        l++;
        from = lines[l].start;
        while (from < lines[l].end && WS.has(text[from])) from++;
      } else {
        logical += text.slice(from, line.end);
        break;
      }
    }
    // The key ends at the first unescaped '=', ':' or blank; one separator and blanks around it follow.
    let k = 0;
    while (k < logical.length && !'=: \t\f'.includes(logical[k])) k += logical[k] === '\\' ? 2 : 1;
    let v = k;
    while (v < logical.length && WS.has(logical[v])) v++;
    if (v < logical.length && (logical[v] === '=' || logical[v] === ':')) v++;
    while (v < logical.length && WS.has(logical[v])) v++;
    entries.push({ key: unescape(logical.slice(0, k)), value: unescape(logical.slice(v)), valueStart: valueOffset(text, lines, startLine, i, v), end: lines[l].end });
  }
  return entries;
}

/** Offset in the text of the logical line's character `v`, walking over the joined natural lines. */
function valueOffset(text, lines, l, from, v) {
  let left = v;
  for (;;) {
    const line = lines[l];
    const more = continues(text, line) && l + 1 < lines.length;
    const len = line.end - from - (more ? 1 : 0);
    if (left < len || !more) return from + left;
    left -= len;
    l++;
    from = lines[l].start;
    while (from < lines[l].end && WS.has(text[from])) from++;
  }
}

/**
 * The literal `-Dname=value` options of a setenv.sh (read as text, never run): `{ key, value,
 * valueStart, end }` for each, the last one of a name winning as the JVM takes it. Commented lines
 * are skipped; a value built from shell variables (`$X`) is left out, since only running the
 * script would give it.
 */
export function scanJavaOptions(text) {
  const entries = [];
  const re = /(^|[\s"'=])-D([A-Za-z0-9_.\-]+)=([^\s"'\\]*)/g;
  for (const m of text.matchAll(re)) {
    const lineStart = text.lastIndexOf('\n', m.index) + 1;
    if (text.slice(lineStart, m.index + m[1].length).trimStart().startsWith('#')) continue;
    if (m[3].includes('$') || m[3].includes('`')) continue;
    const valueStart = m.index + m[0].length - m[3].length;
    entries.push({ key: m[2], value: m[3], valueStart, end: valueStart + m[3].length });
  }
  return entries;
}

/**
 * Resolves `${name}` and `${name:-default}` in `value` as Tomcat does, with `lookup(name)` giving
 * a property's value or undefined. Returns `{ value, refs }`: `refs` lists every reference with
 * `found` (the property was set) and `whole` (the reference is the entire attribute); a reference
 * that is neither set nor has a default stays as written in `value`, as Tomcat leaves it.
 */
export function resolveReferences(value, lookup) {
  const refs = [];
  const out = value.replace(/\$\{([^}]+)\}/g, (text, inner) => {
    const d = inner.indexOf(':-');
    const name = d < 0 ? inner : inner.slice(0, d);
    const fallback = d < 0 ? undefined : inner.slice(d + 2);
    const got = lookup(name);
    refs.push({ name, text, found: got !== undefined, fallback, whole: text === value });
    return got ?? fallback ?? text;
  });
  return { value: out, refs };
}
