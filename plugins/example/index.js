// Entry module of the example plugin. Plain JavaScript, no build step: every exported
// activator is started by abctl before any command runs.

/** @typedef {import('../../core/plugin-contract.js').ServiceContext} ServiceContext */

const plugin = {
  name: 'example',
  allowExtensionsToCreateAppliances: false,
  jobParameters() {
    return [
      { name: 'home', type: 'path', description: 'directory the example product is installed in', required: true },
    ];
  },
};

/** Tells the upgrade check where the product (and any newer plugin it ships) lives. */
const locator = {
  pluginOrExtensionName: 'example',
  productInstallHomes(parameters) {
    return typeof parameters.home === 'string' ? [parameters.home] : [];
  },
};

export const activator = {
  /** @param {ServiceContext} context */
  start(context) {
    // Keep the registrations: stop() hands them back.
    this.registrations = [
      context.registerService(context.ids.IntrospectorPlugin, plugin),
      context.registerService(context.ids.IntrospectorPluginLocator, locator),
    ];
  },
  stop() {
    for (const r of this.registrations ?? []) r.unregister();
    this.registrations = [];
  },
};
