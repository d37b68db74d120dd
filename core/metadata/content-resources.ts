/**
 * Content resources: files saved in the catalog at dehydration (usually turned into
 * templates) and read back at rehydration. The model keeps only the name and where the
 * file lives inside the catalog; the bytes are the catalog's business.
 */
import { checkContentResourceName } from './names.js';
import { asObject, readOptionalBoolean, readOptionalString, readString } from './plain.js';
import { checkAbsolutePath, checkRelativePath } from './relative-paths.js';
import { contentResourceUri } from './file-refs.js';
import { label, within } from './where.js';

export interface ContentResourceInit {
  /** Letters, digits and `- . _ ~` (it becomes part of a URI). */
  readonly name: string;
  /** Relative path inside the owner's catalog directory. */
  readonly path: string;
  readonly description?: string;
  /**
   * A strict config template (docs/templates.md): its variables are checked at introspection
   * and at plan validation. Default false; catalogs written before the marker existed load so.
   */
  readonly template?: boolean;
  /**
   * The absolute path rehydrate renders this template to (the same path on the reference). When
   * the template names a password property, the capture leaves that file out: it would carry the
   * reference's password, and rehydrate writes it whole anyway (docs/templates.md).
   */
  readonly renders?: string;
}

export interface ContentResourcePlain {
  name: string;
  path: string;
  description: string;
  /** Only written when true, so catalogs without templates read as before. */
  template?: true;
  /** Only written when set. */
  renders?: string;
}

export class ContentResource {
  readonly name: string;
  readonly path: string;
  readonly description: string;
  readonly template: boolean;
  readonly renders: string | undefined;

  constructor(init: ContentResourceInit) {
    const where = label('content resource', init.name);
    checkContentResourceName(init.name, where);
    this.name = init.name;
    this.path = checkRelativePath('content resource path', init.path, where);
    this.description = init.description ?? '';
    this.template = init.template ?? false;
    this.renders = init.renders === undefined ? undefined : checkAbsolutePath('content resource renders', init.renders, where);
    // Public fields stay as built (the compiler's readonly is not enough at run time); edits go through methods.
    Object.freeze(this);
  }

  /** The fileRef URI that points at this resource. */
  get uri(): string {
    return contentResourceUri(this.name);
  }

  toPlain(): ContentResourcePlain {
    return { name: this.name, path: this.path, description: this.description, ...(this.template ? { template: true as const } : {}), ...(this.renders !== undefined ? { renders: this.renders } : {}) };
  }

  toJSON(): ContentResourcePlain {
    return this.toPlain();
  }

  toString(): string {
    return `content resource ${this.name} (${this.path}${this.template ? ', template' : ''})`;
  }

  static fromPlain(value: unknown): ContentResource {
    const o = asObject(value, 'content resource');
    const name = readString(o, 'name');
    const init = within(label('content resource', name), () => ({
      name,
      path: readString(o, 'path'),
      description: readOptionalString(o, 'description') ?? '',
      template: readOptionalBoolean(o, 'template') ?? false,
      renders: readOptionalString(o, 'renders'),
    }));
    return new ContentResource(init);
  }
}
