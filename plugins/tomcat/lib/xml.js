// XML reading for the Tomcat plugin: a real parser (sax, vendored) finds the elements, skipping
// comments and CDATA; the templates are made by rewriting attribute values inside the start tags
// the parser located, so the rest of each file stays byte for byte as the administrator wrote it.

import { createRequire } from 'node:module';

// Loaded on the first parse, with require: imported at the top, Node would scan its 50 KB for
// export names whenever the plugin is activated, e.g. by every describePlugins (about 15 ms of
// start-up; issue 14).
const requireHere = createRequire(import.meta.url);
let sax;

/**
 * Every element of `text` in document order: `{ name, attributes, start, end, path }`, where
 * `text.slice(start, end)` is its start tag and `path` the names of its ancestors and itself.
 * A file that is not well-formed throws an error naming the file, line and column.
 */
export function parseElements(text, file) {
  sax ??= requireHere('../vendor/sax.cjs');
  const parser = sax.parser(true, { position: true });
  const elements = [];
  const stack = [];
  parser.onerror = (err) => {
    const first = String(err.message).split('\n')[0];
    throw new Error(`${file} is not well-formed XML (line ${parser.line + 1}, column ${parser.column + 1}): ${first}; fix the file, Tomcat would not read it either`);
  };
  parser.onopentag = (tag) => {
    const path = [...stack, tag.name];
    elements.push({ name: tag.name, attributes: { ...tag.attributes }, start: parser.startTagPosition - 1, end: parser.position, path });
    stack.push(tag.name);
  };
  // sax reports a close for self-closing tags too, so the stack stays balanced.
  parser.onclosetag = () => stack.pop();
  parser.write(text).close();
  return elements;
}

const ATTRIBUTE = (name) => new RegExp(`(\\s${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=\\s*)(["'])([^"']*?)\\2`);

/**
 * Collects edits of start tags and applies them in one pass. `set(element, attribute, value)`
 * replaces an attribute's value (or adds the attribute when the tag lacks it); `render()` gives
 * the new text with every `{{` of the original escaped, so the result is a template whose only
 * variables are the ones the edits put in.
 */
export class TagEditor {
  constructor(text) {
    this.text = text;
    this.edits = [];
  }

  set(element, attribute, value) {
    const tag = this.text.slice(element.start, element.end);
    const m = ATTRIBUTE(attribute).exec(tag);
    if (m) {
      const at = element.start + m.index + m[1].length + 1;
      this.edits.push({ start: at, end: at + m[3].length, text: value });
    } else {
      // No such attribute: add it right after the element name.
      const at = element.start + 1 + element.name.length;
      this.edits.push({ start: at, end: at, text: ` ${attribute}="${value}"` });
    }
  }

  /** Replaces `text.slice(start, end)` (for files that are not XML, located by their own reader). */
  replace(start, end, text) {
    this.edits.push({ start, end, text });
  }

  get changed() {
    return this.edits.length > 0;
  }

  render() {
    const edits = [...this.edits].sort((a, b) => a.start - b.start);
    let out = '';
    let at = 0;
    for (const e of edits) {
      out += escapeMustaches(this.text.slice(at, e.start)) + e.text;
      at = e.end;
    }
    return out + escapeMustaches(this.text.slice(at));
  }
}

/** `{{` in the product's own text must print as itself, not open a template variable. */
function escapeMustaches(s) {
  return s.replaceAll('{{', '\\{{');
}
