/**
 * Encryption of password values at rest. One AES-256-GCM key per instance, in
 * `<instance>/config/catalog.key` (32 random bytes, created on first use, mode 0600); a
 * fresh 12-byte IV per value. Stored form: `enc:v1:<base64(iv | tag | ciphertext)>`.
 * GCM's tag means a value edited by hand or copied from another instance fails loudly
 * instead of decrypting to garbage.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { environmentError, UserError } from '../core/errors.js';

export const SECRET_PREFIX = 'enc:v1:';
/** Bytes of a key (AES-256). */
export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBox {
  readonly #key: Buffer;
  readonly keyFile: string;

  private constructor(key: Buffer, keyFile: string) {
    this.#key = key;
    this.keyFile = keyFile;
  }

  /** Loads the key, creating it when `create` and it does not exist yet. Undefined when absent and not created. */
  static async load(keyFile: string, create: boolean): Promise<SecretBox | undefined> {
    let info;
    try {
      info = await stat(keyFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (!create) return undefined;
      await createKeyFile(keyFile);
      info = await stat(keyFile);
    }
    if ((info.mode & 0o077) !== 0) {
      throw new UserError('CATALOG_KEY_UNSAFE', `the catalog key file is readable or writable by others (mode ${(info.mode & 0o777).toString(8)}); refusing to use it`, {
        where: keyFile,
        hint: `run: chmod 600 ${keyFile}`,
      });
    }
    const key = await readFile(keyFile);
    if (key.length !== KEY_BYTES) {
      throw new UserError('CATALOG_KEY_INVALID', `the catalog key file must hold ${KEY_BYTES} bytes, it holds ${key.length}`, {
        where: keyFile,
        hint: 'restore the key file from a backup; without it the stored passwords cannot be read',
      });
    }
    return new SecretBox(key, keyFile);
  }

  encrypt(clear: string): string {
    return sealSecret(this.#key, clear);
  }

  /** `where` names the file for the error; the value itself is never put in a message. */
  decrypt(stored: string, where: string): string {
    if (!stored.startsWith(SECRET_PREFIX)) {
      throw new UserError('CATALOG_SECRET_INVALID', 'a password value is not encrypted (expected enc:v1:...)', {
        where,
        hint: 'set the password again with abctl instead of editing the file',
      });
    }
    const clear = openSecret(this.#key, stored);
    if (clear === undefined) throw badSecret(where);
    return clear;
  }
}

/**
 * The stored form of one value under a 32-byte key. Also used for other keys than the
 * catalog's (an appliance bundle's, services/rehydration/bundle-key.ts), each with its own errors.
 */
export function sealSecret(key: Buffer, clear: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(clear, 'utf8'), cipher.final()]);
  return SECRET_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

/** The clear text of a stored value; undefined when it is not one this key sealed (wrong key, damaged, not encrypted). */
export function openSecret(key: Buffer, stored: string): string | undefined {
  if (!stored.startsWith(SECRET_PREFIX)) return undefined;
  const raw = Buffer.from(stored.slice(SECRET_PREFIX.length), 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

function badSecret(where: string): UserError {
  return new UserError('CATALOG_SECRET_INVALID', 'a password value cannot be decrypted with this instance\'s key (damaged, or written by another instance)', {
    where,
    hint: 'set the password again, or restore config/catalog.key from a backup',
  });
}

/** Writes the key beside its final name, then links it into place so two processes never see half a key. */
async function createKeyFile(keyFile: string): Promise<void> {
  try {
    await writeKeyFile(keyFile);
  } catch (err) {
    // A full disk fails the write without naming the file.
    throw environmentError(err, keyFile) ?? err;
  }
}

async function writeKeyFile(keyFile: string): Promise<void> {
  await mkdir(dirname(keyFile), { recursive: true });
  const tmp = `${keyFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(randomBytes(KEY_BYTES));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  try {
    await link(tmp, keyFile);
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Does the stored text look encrypted? (For tests and checks; never decrypts.) */
export function isEncrypted(value: string): boolean {
  return value.startsWith(SECRET_PREFIX);
}
