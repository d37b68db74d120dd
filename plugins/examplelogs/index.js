// An extension of the example plugin. It runs after its parent in every operation and adds
// the product's logging settings to the appliance the parent created; when the product has
// no logging configuration it does nothing, without error.

/** @typedef {import('../../core/plugin-contract.js').DehydrateContext} DehydrateContext */
/** @typedef {import('../../core/lifecycle-contract.js').LifecycleContext} LifecycleContext */

import { writeFile } from 'node:fs/promises';

// docs:begin extension-service
const extension = {
  name: 'examplelogs',
  parentName: 'example',
  // Also offer `abctl introspectexamplelogs` (it runs the example plugin and this extension).
  alias: true,

  jobParameters() {
    return [{ name: 'keep-logs', type: 'boolean', description: 'capture the log files too', defaultValue: false }];
  },
  // docs:end extension-service

  // docs:begin extension-dehydrate
  /** @param {DehydrateContext} ctx */
  async dehydrate(ctx) {
    const [appliance] = ctx.appliances;
    const home = ctx.parameters.home;
    const file = `${home}/conf/logging.properties`;
    if (!appliance || !(await ctx.host.exists(file))) return;

    for (const line of (await ctx.host.readText(file)).split('\n')) {
      const t = line.trim();
      if (!t || t.startsWith('#') || !t.includes('=')) continue;
      const name = t.slice(0, t.indexOf('=')).trim();
      const value = t.slice(t.indexOf('=') + 1).trim();
      const isInt = /^\d+$/.test(value);
      appliance.properties.add({ name, type: isInt ? 'int' : 'string', category: 'user', value, description: `logging: ${name}` }, 'plugin');
    }
    if (ctx.parameters['keep-logs'] === true) {
      const home = appliance.getFileSet('home');
      if (home) appliance.updateFileSet('home', { excludes: home.excludes.filter((e) => e !== 'logs/*.log') }, 'plugin');
    }
  },
  // docs:end extension-dehydrate

  // rehydration:begin extension-rehydrate
  /**
   * Writes conf/logging.properties from the effective log.* properties; an appliance without
   * them (the product had no logging configuration) leaves nothing to do.
   * @param {LifecycleContext} ctx
   */
  async rehydrate(ctx) {
    const settings = ctx.appliance.properties.filter((p) => p.name.startsWith('log.') && p.value !== undefined);
    const home = ctx.appliance.fileSets.find((f) => f.name === 'home');
    if (settings.length === 0 || !home) return;
    const file = `${home.root}/conf/logging.properties`;
    await writeFile(file, settings.map((p) => `${p.name}=${p.value}\n`).join(''));
    await ctx.setOwnership(file, { owner: home.owner, group: home.group, mode: 0o644 });
  },
  // rehydration:end extension-rehydrate
};

// docs:begin extension-activator
export default class LogsActivator {
  start(context) {
    this.registration = context.registerService(context.ids.IntrospectorPluginExtension, extension);
  }

  stop() {
    this.registration?.unregister();
  }
}
// docs:end extension-activator
