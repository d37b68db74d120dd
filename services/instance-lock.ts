// The lock lives with the catalog, its main user (catalog/ imports nothing from services/);
// plugin installation and editing take the same lock through this name.
export { withInstanceLock } from '../catalog/instance-lock.js';
