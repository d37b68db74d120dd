/**
 * Damaged and oversized catalog documents are refused with the file named: invalid UTF-8
 * (not decoded into U+FFFD), more bytes or elements than the documented limits; the writer
 * refuses what the reader would; a write failing with ENOSPC names the file.
 */
import { mkdir, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { Appliance } from '../../core/metadata/appliance.js';
import type { Catalog } from '../../catalog/catalog.js';
import { MAX_DOCUMENT_BYTES, MAX_DOCUMENT_ELEMENTS } from '../../catalog/limits.js';
import { Transaction } from '../../catalog/txn.js';
import { renderDocument } from '../../catalog/xml-codec.js';
import { tempDir } from '../helpers/plugins.js';
import { openCatalog } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
let catalog: Catalog;
let doc: string;

beforeEach(async () => {
  ({ path: root, cleanup } = await tempDir('abctl-limits-'));
  catalog = openCatalog(root);
  await catalog.putAppliance(new Appliance({ name: 'web', creator: 'tomcat', properties: [{ name: 'motd', value: 'hello' }] }));
  doc = join(root, 'catalog/appliances/web/appliance.xml');
});
afterEach(async () => cleanup());

async function refusal(p: Promise<unknown>): Promise<UserError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

describe('catalog documents', () => {
  it('refuses invalid UTF-8 as a damaged file, naming it and the line, instead of storing U+FFFD later', async () => {
    const text = await readFile(doc, 'utf8');
    const bytes = Buffer.from(text, 'utf8');
    const at = bytes.indexOf('hello');
    bytes[at + 1] = 0xc3; // a lead byte followed by "l": not UTF-8
    await writeFile(doc, bytes);
    const err = await refusal(catalog.getAppliance('web'));
    expect([err.code, err.where]).toEqual(['CATALOG_FILE_INVALID', doc]);
    expect(err.message).toBe(`the file is not valid UTF-8 (first bad byte sequence on line ${text.slice(0, text.indexOf('hello')).split('\n').length})`);
    const listing = await catalog.listAppliances();
    expect(listing.items).toEqual([]);
    expect(listing.problems).toMatchObject([{ file: doc, code: 'CATALOG_FILE_INVALID', message: expect.stringContaining('not valid UTF-8') }]);
    // The byte stays as it is: nothing rewrote the file.
    expect((await readFile(doc)).equals(bytes)).toBe(true);
  });

  it('refuses a document over the size limit before reading it', async () => {
    await truncate(doc, MAX_DOCUMENT_BYTES + 1);
    const t0 = performance.now();
    const err = await refusal(catalog.getAppliance('web'));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect([err.code, err.where]).toEqual(['CATALOG_FILE_TOO_LARGE', doc]);
    expect(err.message).toBe(`the document is ${MAX_DOCUMENT_BYTES + 1} bytes; a catalog document may hold at most ${MAX_DOCUMENT_BYTES} bytes (16 MiB)`);
  });

  it('refuses a document with more elements than the limit, reading and writing', async () => {
    const items = Array.from({ length: MAX_DOCUMENT_ELEMENTS }, (_, i) => `<property name="p${i}"/>`).join('');
    await writeFile(doc, `<?xml version="1.0" encoding="UTF-8"?>\n<appliance formatVersion="1" name="web" creator="t"><properties>${items}</properties></appliance>\n`);
    const err = await refusal(catalog.getAppliance('web'));
    expect([err.code, err.where]).toEqual(['CATALOG_FILE_TOO_LARGE', doc]);
    expect(err.message).toContain(`more than ${MAX_DOCUMENT_ELEMENTS} elements`);

    const plain = { name: 'big', excludes: Array.from({ length: MAX_DOCUMENT_ELEMENTS }, (_, i) => `x${i}`) };
    let thrown: unknown;
    try {
      renderDocument('appliance', plain, { where: 'big.xml' });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(UserError);
    expect((thrown as UserError).code).toBe('CATALOG_FILE_TOO_LARGE');
    expect((thrown as UserError).hint).toContain('too much for one catalog document');
    // Exactly the limit (the root and the list element count too) is written and read back.
    const atLimit = renderDocument('appliance', { name: 'web', creator: 't', excludes: plain.excludes.slice(2) }, { where: 'ok.xml', rootAttributes: { formatVersion: 1 } });
    await writeFile(doc, atLimit);
    expect((await catalog.describe()).problems).toEqual([]);
  });
});

describe('environment errors', () => {
  it('a staged write failing with ENOSPC (no path in the error) names the file', async () => {
    const txn = new Transaction(join(root, 'catalog'));
    const rel = 'appliances/web/content/big.bin';
    // /dev/full fails every write with ENOSPC: a real full-disk error, without the path.
    await mkdir(dirname(join(txn.stagingDir, rel)), { recursive: true });
    await symlink('/dev/full', join(txn.stagingDir, rel));
    txn.replace(rel);
    txn.putFile(rel, 'data');
    const err = await refusal(txn.commit());
    expect([err.code, err.where]).toEqual(['ENV_ENOSPC', join(txn.stagingDir, rel)]);
    expect(err.message).toBe('no space left on the device (write)');
    expect(err.hint).toContain('free some space');
    expect((await catalog.getAppliance('web')).properties.getValue('motd')).toBe('hello');
  });
});
