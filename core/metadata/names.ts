/**
 * Naming rules for metadata objects. The character set is the one the catalog and
 * deployment tooling accept everywhere; checking it when a name is given (not when it is
 * saved) means the user learns about a bad character at the place they typed it.
 */
import { UserError } from '../errors.js';

/** Symbols allowed in names besides ASCII letters and digits. */
export const NAME_SYMBOLS = '!#%()*+,-.:=?@[]^_{}~';
/** Longest appliance or assembly name. */
export const MAX_OBJECT_NAME_LENGTH = 40;
/** Property names starting with one of these are kept for the framework's own use. */
export const RESERVED_PROPERTY_PREFIXES: readonly string[] = ['OVAB', 'Ovab', 'ovab'];
/** Appliance types starting with this belong to external resources. */
export const EXTERNAL_TYPE_PREFIX = 'External';

const ALLOWED_NAME = /^[A-Za-z0-9!#%()*+,\-.:=?@[\]^_{}~]+$/;
const NAME_CHAR = /[A-Za-z0-9!#%()*+,\-.:=?@[\]^_{}~]/;
/** Content resource names end up in `contentresource:<name>` URIs, so they keep to URI-safe characters. */
const CONTENT_RESOURCE_NAME = /^[A-Za-z0-9._~-]+$/;
const CONTENT_RESOURCE_CHAR = /[A-Za-z0-9._~-]/;

const RULE_TEXT = `ASCII letters, digits and ${NAME_SYMBOLS.split('').join(' ')}`;

function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
  if (ch === ' ') return 'space';
  return `"${ch}"`;
}

/** First character (and its 1-based position) that `allowed` rejects, or undefined. */
function firstBadChar(value: string, allowed: RegExp): { ch: string; position: number } | undefined {
  let position = 0;
  for (const ch of value) {
    position += 1;
    if (!allowed.test(ch)) return { ch, position };
  }
  return undefined;
}

function checkChars(what: string, value: string, allowed: RegExp, ruleText: string, where?: string): void {
  if (value.length === 0) {
    throw new UserError('NAME_INVALID', `${what} must not be empty`, { where, hint: `use ${ruleText}` });
  }
  // Fast path: one whole-string test; the character walk below only runs to word the error.
  if ((allowed === NAME_CHAR ? ALLOWED_NAME : allowed === CONTENT_RESOURCE_CHAR ? CONTENT_RESOURCE_NAME : undefined)?.test(value)) return;
  const bad = firstBadChar(value, allowed);
  if (bad) {
    throw new UserError(
      'NAME_INVALID',
      `${what} "${value}" is invalid: ${describeChar(bad.ch)} at position ${bad.position} is not allowed (allowed: ${ruleText})`,
      { where, hint: `rename it using only ${ruleText}` },
    );
  }
}

/** True when every character is in the name set (length is not checked). */
export function hasOnlyNameCharacters(value: string): boolean {
  return ALLOWED_NAME.test(value);
}

/** True for a valid appliance or assembly name. */
export function isValidObjectName(name: string): boolean {
  return ALLOWED_NAME.test(name) && name.length <= MAX_OBJECT_NAME_LENGTH;
}

/**
 * Appliance, assembly, atomic assembly and external resource names: the name set,
 * 1 to 40 characters. `kind` names the object in the error ("appliance", "assembly", ...).
 */
export function checkObjectName(kind: string, name: string, where?: string): void {
  checkChars(`${kind} name`, name, NAME_CHAR, `${RULE_TEXT}; at most ${MAX_OBJECT_NAME_LENGTH} characters`, where);
  if (name.length > MAX_OBJECT_NAME_LENGTH) {
    throw new UserError(
      'NAME_INVALID',
      `${kind} name "${name}" is ${name.length} characters long; the limit is ${MAX_OBJECT_NAME_LENGTH}`,
      { where, hint: 'choose a shorter name' },
    );
  }
}

/**
 * Names of parts inside an appliance (inputs, outputs, interfaces, file set definitions,
 * vnets): the same character set, no length limit. Keeping `/` out matters because
 * endpoint references use it as the separator.
 */
export function checkPartName(kind: string, name: string, where?: string): void {
  checkChars(`${kind} name`, name, NAME_CHAR, RULE_TEXT, where);
}

/** True when a property name starts with a reserved prefix. */
export function isReservedPropertyName(name: string): boolean {
  return RESERVED_PROPERTY_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * Property names: the name set, no length limit. Reserved prefixes are refused unless
 * `allowReserved` (the framework writes its own properties).
 */
export function checkPropertyName(name: string, opts: { allowReserved?: boolean; where?: string } = {}): void {
  checkChars('property name', name, NAME_CHAR, RULE_TEXT, opts.where);
  if (!opts.allowReserved && isReservedPropertyName(name)) {
    throw new UserError(
      'PROPERTY_NAME_RESERVED',
      `property name "${name}" is reserved: names starting with ${RESERVED_PROPERTY_PREFIXES.join(', ')} belong to the framework`,
      { where: opts.where, hint: 'choose another prefix' },
    );
  }
}

/** Content resource names: ASCII letters, digits and `- . _ ~`, so the fileRef URI needs no escaping. */
export function checkContentResourceName(name: string, where?: string): void {
  checkChars('content resource name', name, CONTENT_RESOURCE_CHAR, 'ASCII letters, digits and - . _ ~', where);
}

export function isValidContentResourceName(name: string): boolean {
  return CONTENT_RESOURCE_NAME.test(name);
}

/** True when an appliance type is one kept for external resources. */
export function isExternalType(type: string): boolean {
  return type.startsWith(EXTERNAL_TYPE_PREFIX);
}

/**
 * Appliance types: non-empty, the name set; `External...` only for external resources
 * (the framework tells placeholders from real appliances by that prefix).
 */
export function checkApplianceType(type: string, opts: { external: boolean; where?: string }): void {
  checkChars('appliance type', type, NAME_CHAR, RULE_TEXT, opts.where);
  if (!opts.external && isExternalType(type)) {
    throw new UserError(
      'APPLIANCE_TYPE_RESERVED',
      `appliance type "${type}" is reserved: types starting with "${EXTERNAL_TYPE_PREFIX}" are kept for external resources`,
      { where: opts.where, hint: 'choose a type that does not start with "External" (the default is the plugin name)' },
    );
  }
  if (opts.external && !isExternalType(type)) {
    throw new UserError(
      'APPLIANCE_TYPE_INVALID',
      `external resource type "${type}" must start with "${EXTERNAL_TYPE_PREFIX}"`,
      { where: opts.where, hint: `e.g. "${EXTERNAL_TYPE_PREFIX}LDAP"` },
    );
  }
}
