/**
 * The instance's password key, loaded once per catalog and only when a document holds a
 * password (reading) or a put writes one (created then).
 */
import { UserError } from '../core/errors.js';
import { SecretBox } from './secrets.js';

export class CatalogKey {
  #box: SecretBox | undefined;

  constructor(readonly file: string) {}

  /** The key; `create` makes it when it does not exist yet, else its absence is an error blamed on `where`. */
  async load(create: boolean, where: string): Promise<SecretBox> {
    if (this.#box) return this.#box;
    const box = await SecretBox.load(this.file, create);
    if (!box) {
      throw new UserError('CATALOG_KEY_MISSING', 'this file holds encrypted passwords but the catalog key file is missing', {
        where,
        hint: `restore ${this.file} from a backup, or set the passwords again`,
      });
    }
    this.#box = box;
    return box;
  }

  /** The key already loaded for this write (load(true, ...) ran first). */
  loaded(where: string): SecretBox {
    if (!this.#box) throw new Error(`internal error: catalog key not loaded before writing ${where}`);
    return this.#box;
  }
}
