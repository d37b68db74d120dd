/**
 * Input limits of catalog documents. Each object has its own small document (an appliance
 * with 50 properties is ~10 KB), so these are far above real catalogs; they bound what a
 * damaged or hostile file can cost (memory grows with elements: ~1 KB each once parsed).
 * The writer refuses what the reader would refuse, so abctl never stores an unreadable file.
 */
import { UserError } from '../core/errors.js';

/** Bytes of one document, checked before it is read. */
export const MAX_DOCUMENT_BYTES = 16 * 2 ** 20;
/** Elements of one document (properties, endpoints, excludes, ...). */
export const MAX_DOCUMENT_ELEMENTS = 100_000;

const READ_HINT = 'abctl does not write documents this large: restore the file from a backup (limits: docs/catalog.md, "Input limits")';
const WRITE_HINT = 'the object holds too much for one catalog document: split it, or give it fewer properties (limits: docs/catalog.md, "Input limits")';

export function tooLarge(bytes: number, where: string, writing = false): UserError {
  return new UserError('CATALOG_FILE_TOO_LARGE', `the document is ${bytes} bytes; a catalog document may hold at most ${MAX_DOCUMENT_BYTES} bytes (16 MiB)`, {
    where,
    hint: writing ? WRITE_HINT : READ_HINT,
  });
}

export function tooManyElements(where: string, writing = false): UserError {
  return new UserError('CATALOG_FILE_TOO_LARGE', `the document has more than ${MAX_DOCUMENT_ELEMENTS} elements, the limit for one catalog document`, {
    where,
    hint: writing ? WRITE_HINT : READ_HINT,
  });
}
