import type { SecretCodec } from '../../core/deployment-plan/index.js';
import { UserError } from '../../core/errors.js';
import type { Appliance, Assembly } from '../../core/metadata/index.js';
import { fullAssembly } from '../metadata/fixtures.js';

/** A reversible stand-in for the instance key (the real one is tested with the catalog). */
export const fakeCodec: SecretCodec = {
  encrypt: (clear) => `enc:v1:${Buffer.from(`k1:${clear}`).toString('base64')}`,
  decrypt: (stored, where) => {
    const text = Buffer.from(stored.slice('enc:v1:'.length), 'base64').toString();
    if (!text.startsWith('k1:')) throw new UserError('CATALOG_SECRET_INVALID', 'cannot be decrypted with this key', { where });
    return text.slice(3);
  },
  isEncrypted: (s) => s.startsWith('enc:v1:'),
};

/**
 * fullAssembly plus what plans care about: a fileRef exposing a content resource, a
 * required fileRef without a value, a required user property without a value, a
 * not-captured NFS file set and an interface property.
 */
export function planAssembly(): Assembly {
  const a = fullAssembly();
  const web = a.getMember('web') as Appliance;
  web.exposeContentResource('server.xml', 'serverConfig', { description: 'Tomcat server.xml' });
  web.properties.add({ name: 'license', type: 'fileRef', required: true }, 'plugin');
  web.properties.add({ name: 'admin.user', required: true, description: 'administrator login' }, 'plugin');
  web.properties.add({ name: 'admin.password', type: 'password', required: true }, 'plugin');
  web.properties.add({ name: 'heap.mb', type: 'int', value: 512 }, 'plugin');
  web.properties.add({ name: 'build.id', category: 'system', value: 'b-17' }, 'plugin');
  web.addFileSet({ name: 'media', root: '/srv/media', scope: 'shared', sharedType: 'NFS', captured: false }, 'plugin');
  return a;
}
