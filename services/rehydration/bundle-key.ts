/**
 * An appliance bundle's key: the password values in a deployed bundle's appliance.xml are
 * encrypted with it (AES-256-GCM, the catalog's stored form `enc:v1:...`, catalog/secrets.ts).
 * The key itself never rests on the instance's host: abctl keeps it in the deployment record,
 * encrypted with the instance's catalog key, and hands it to the agent on each call as the
 * first line of the agent's stdin (`--key-stdin`). The agent holds it in memory only.
 *
 * On the wire: one line, the 32 bytes in base64. In bundle.json: only its id (the first 16 hex
 * digits of its SHA-256), so that a wrong key is told apart from a damaged value.
 */
import { createHash, randomBytes } from 'node:crypto';
import { UserError } from '../../core/errors.js';
import { KEY_BYTES, openSecret, sealSecret } from '../../catalog/secrets.js';

/** What bundle.json says about the encryption of its password values. */
export interface BundlePasswordKey {
  readonly cipher: 'aes-256-gcm';
  readonly keyId: string;
}

/** The agent's option that makes it read the key from the first line of its stdin. */
export const KEY_STDIN_OPTION = '--key-stdin';
/** The longest first line the agent reads for a key: a key line is 45 bytes. */
export const KEY_LINE_MAX = 1024;

export class BundleKey {
  readonly #bytes: Buffer;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  static generate(): BundleKey {
    return new BundleKey(randomBytes(KEY_BYTES));
  }

  /** A key line (or the record's decrypted text); `where` names where it came from for the error. */
  static parse(text: string, where: string): BundleKey {
    const t = text.trim();
    const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(t) ? Buffer.from(t, 'base64') : Buffer.alloc(0);
    if (bytes.length !== KEY_BYTES) {
      throw new UserError('BUNDLE_KEY_INVALID', `the bundle key is not ${KEY_BYTES} bytes in base64 on one line`, {
        where,
        hint: 'give the key abctl keeps for the instance (abctl passes it itself on each agent call)',
      });
    }
    return new BundleKey(bytes);
  }

  /** The key as it is passed on stdin and kept (encrypted) in the record. Never logged. */
  text(): string {
    return this.#bytes.toString('base64');
  }

  get id(): string {
    return createHash('sha256').update(this.#bytes).digest('hex').slice(0, 16);
  }

  describe(): BundlePasswordKey {
    return { cipher: 'aes-256-gcm', keyId: this.id };
  }

  encrypt(clear: string): string {
    return sealSecret(this.#bytes, clear);
  }

  /** `where`: the document, for the error; the value is never put into a message. */
  decrypt(stored: string, where: string): string {
    const clear = openSecret(this.#bytes, stored);
    if (clear === undefined) {
      throw new UserError('BUNDLE_SECRET_INVALID', 'a password value of the bundle cannot be decrypted with its key (damaged, or edited by hand)', {
        where,
        hint: 'deploy the instance again (abctl deploy writes a new bundle)',
      });
    }
    return clear;
  }
}

/** A plugin asked for a password the bundle keeps encrypted, and the agent was given no key. */
export function bundleKeyMissing(bundleDir: string, what: string, password: string): UserError {
  return new UserError('BUNDLE_KEY_MISSING', `${what} needs password "${password}", which this bundle keeps encrypted, and the agent was given no key`, {
    where: bundleDir,
    hint: `run it through abctl (startDeployment, stopDeployment, pingDeployment): abctl keeps each instance's key and hands it to the agent on stdin; a program holding the key passes it as the first line of stdin with ${KEY_STDIN_OPTION}`,
  });
}
