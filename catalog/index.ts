export * from './catalog.js';
export { CURRENT_FORMAT_VERSION, MIGRATIONS } from './format.js';
export { isEncrypted, SECRET_PREFIX } from './secrets.js';
