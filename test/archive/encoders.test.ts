// The gzip codec of a capture (services/archive/encoders.ts) reuses one zlib stream per block in
// flight: every member must be, byte for byte, what zlib's one-shot gzip() makes of that block
// (the bytes the capture wrote before the streams were reused), at every level, level 0 included
// (stored blocks are sized by the room in the output buffer).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ArchiveFile } from '../../services/archive/archive-file.js';
import { BLOCK_SIZE, MEMBER_CHUNK, createEncoder } from '../../services/archive/encoders.js';
import { tempDirEach } from '../support/each-test.js';

const tmp = tempDirEach('abctl-encoders-');

const oneShot = promisify(gzip);

/** Text-like, incompressible, empty-ish and short blocks, as a tar stream has them. */
function blocks(): Buffer[] {
  const text = Buffer.from('key = value\n# a comment line of a config file\n'.repeat(30000)).subarray(0, BLOCK_SIZE);
  return [text, randomBytes(BLOCK_SIZE), Buffer.alloc(BLOCK_SIZE), Buffer.concat([text.subarray(0, BLOCK_SIZE / 2), randomBytes(BLOCK_SIZE / 2)]), text, randomBytes(1000)];
}

describe('gzip codec', () => {
  it.each([0, 1, 6, 9])('writes at level %i the members one-shot gzip() writes, in order, through reused streams', async (level) => {
    const input = blocks();
    const out = join(tmp.path, `l${level}.gz`);
    const file = ArchiveFile.create(out);
    const released: Buffer[] = [];
    // Two in flight: four of six blocks go through a stream that compressed one before.
    const encoder = createEncoder('gzip', file, { level, concurrency: 2, release: (b) => released.push(b) });
    for (const block of input) {
      const wait = encoder.write(block);
      if (wait) await wait;
    }
    await encoder.end();
    file.commit();
    const expected = Buffer.concat(await Promise.all(input.map((b) => oneShot(b, { level, chunkSize: MEMBER_CHUNK }))));
    const got = readFileSync(out);
    expect(got.equals(expected)).toBe(true);
    expect(gunzipSync(got).equals(Buffer.concat(input))).toBe(true);
    expect(released.length).toBe(input.length);
    execFileSync('gzip', ['-t', out]);
  });
});
