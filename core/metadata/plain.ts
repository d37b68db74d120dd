/**
 * Small readers for plain (JSON-like) metadata coming back from the catalog. They check
 * shapes only; the classes check the rules. Errors use code METADATA_INVALID and say
 * which field was wrong and what was expected.
 */
import { UserError } from '../errors.js';

export type PlainObject = Record<string, unknown>;

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function shapeError(field: string, expected: string, got: unknown, where?: string): UserError {
  return new UserError('METADATA_INVALID', `field "${field}" must be ${expected}, got ${typeName(got)}`, { where });
}

export function asObject(value: unknown, what: string, where?: string): PlainObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError('METADATA_INVALID', `${what} must be an object, got ${typeName(value)}`, { where });
  }
  return value as PlainObject;
}

export function readString(o: PlainObject, key: string, where?: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw shapeError(key, 'a string', v, where);
  return v;
}

export function readOptionalString(o: PlainObject, key: string, where?: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw shapeError(key, 'a string', v, where);
  return v;
}

export function readNumber(o: PlainObject, key: string, where?: string): number {
  const v = o[key];
  if (typeof v !== 'number') throw shapeError(key, 'a number', v, where);
  return v;
}

export function readOptionalNumber(o: PlainObject, key: string, where?: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw shapeError(key, 'a number', v, where);
  return v;
}

export function readBoolean(o: PlainObject, key: string, where?: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw shapeError(key, 'true or false', v, where);
  return v;
}

export function readOptionalBoolean(o: PlainObject, key: string, where?: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw shapeError(key, 'true or false', v, where);
  return v;
}

export function readArray(o: PlainObject, key: string, where?: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw shapeError(key, 'a list', v, where);
  return v;
}

export function readOptionalArray(o: PlainObject, key: string, where?: string): unknown[] | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw shapeError(key, 'a list', v, where);
  return v;
}

export function readStringArray(o: PlainObject, key: string, where?: string): string[] {
  const list = readArray(o, key, where);
  return list.map((item, i) => {
    if (typeof item !== 'string') throw shapeError(`${key}[${i}]`, 'a string', item, where);
    return item;
  });
}

export function readEnum<T extends string>(o: PlainObject, key: string, allowed: readonly T[], where?: string): T {
  const v = o[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new UserError(
      'METADATA_INVALID',
      `field "${key}" must be one of ${allowed.join(', ')}, got ${typeof v === 'string' ? `"${v}"` : typeName(v)}`,
      { where },
    );
  }
  return v as T;
}
