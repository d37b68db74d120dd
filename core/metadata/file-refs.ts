/**
 * fileRef property values are URIs. Only `contentresource:<name>` is resolved today;
 * other schemes are kept as given and skipped by resolution, so metadata written by a
 * newer tool that knows more schemes still loads.
 */
import { UserError } from '../errors.js';
import { checkContentResourceName } from './names.js';

export const CONTENT_RESOURCE_SCHEME = 'contentresource';

/** RFC 3986 scheme, then a non-empty rest without whitespace. */
const URI = /^([A-Za-z][A-Za-z0-9+.-]*):(\S+)$/;

export type FileRefTarget =
  | { readonly kind: 'contentResource'; readonly name: string }
  | { readonly kind: 'unsupported'; readonly scheme: string; readonly uri: string };

/** `contentresource:<name>`. */
export function contentResourceUri(name: string): string {
  checkContentResourceName(name);
  return `${CONTENT_RESOURCE_SCHEME}:${name}`;
}

/** Throws unless `value` is a URI; a `contentresource:` URI must also name a valid content resource. */
export function checkFileRefUri(value: string, where?: string): void {
  const m = URI.exec(value);
  if (!m) {
    throw new UserError('PROPERTY_VALUE_INVALID', `fileRef value "${value}" is not a URI (expected scheme:rest, e.g. contentresource:server.xml)`, {
      where,
      hint: 'use contentresource:<name> to point at a content resource, or leave the value unset',
    });
  }
  if ((m[1] ?? '').toLowerCase() === CONTENT_RESOURCE_SCHEME) checkContentResourceName(m[2] ?? '', where);
}

/**
 * What a fileRef value points at. Unknown schemes come back as `unsupported` (not an
 * error): callers scanning all properties skip them.
 */
export function resolveFileRef(value: string): FileRefTarget {
  checkFileRefUri(value);
  const m = URI.exec(value);
  const scheme = m?.[1] ?? '';
  if (scheme.toLowerCase() === CONTENT_RESOURCE_SCHEME) return { kind: 'contentResource', name: m?.[2] ?? '' };
  return { kind: 'unsupported', scheme, uri: value };
}

/**
 * The content resource a fileRef value names when it is not among `resources`; undefined when
 * the value is unset, names one that exists, or uses another scheme (kept as given, and skipped
 * at rehydration: nothing here can check what it points at).
 */
export function missingContentResource(value: string | undefined, resources: Iterable<string>): string | undefined {
  if (value === undefined) return undefined;
  const m = URI.exec(value);
  if (!m || (m[1] ?? '').toLowerCase() !== CONTENT_RESOURCE_SCHEME) return undefined;
  const name = m[2] ?? '';
  for (const r of resources) if (r === name) return undefined;
  return name;
}

/** fileRef properties whose `contentresource:` value names no resource in `resources`. */
export function danglingFileRefs(
  properties: Iterable<{ readonly name: string; readonly type: string; readonly value?: string | undefined }>,
  resources: readonly string[],
): { property: string; uri: string; resource: string }[] {
  const out: { property: string; uri: string; resource: string }[] = [];
  for (const p of properties) {
    if (p.type !== 'fileRef') continue;
    const resource = missingContentResource(p.value, resources);
    if (resource !== undefined) out.push({ property: p.name, uri: p.value!, resource });
  }
  return out;
}
