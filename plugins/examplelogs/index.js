// An extension of the example plugin. It runs after its parent in every operation and adds
// the product's logging settings to the appliance the parent created; when the product has
// no logging configuration it does nothing, without error.

/** @typedef {import('../../core/plugin-contract.js').DehydrateContext} DehydrateContext */

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
