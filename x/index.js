// x: introspects x. Written by abctl createPlugin;
// docs/plugin-authoring.md walks through each part, docs/plugin-contract.md is the reference.

const NAME = 'x';

/** The settings file rehydrate writes, kept as a template: {{[instance.label]}} is filled per deployment. */
const SETTINGS_TEMPLATE = '# written by x for each deployment\nlabel={{[instance.label]}}\nversion={{[product.version]}}\n';

const plugin = {
  name: NAME,
  allowExtensionsToCreateAppliances: false,

  jobParameters() {
    return [{ name: 'home', type: 'path', description: 'directory x is installed in', required: true }];
  },

  /** Reads the product through ctx.host (read-only, local or over SSH) and describes it. */
  async dehydrate(ctx) {
    const home = String(ctx.parameters.home).replace(/\/+$/, '');
    if (!(await ctx.host.exists(home))) {
      throw new Error(`${home} does not exist: --home must name the directory x is installed in`);
    }
    const version = (await ctx.host.exists(`${home}/VERSION`)) ? (await ctx.host.readText(`${home}/VERSION`)).trim() : 'unknown';
    ctx.progress(50, 'describing the appliance');
    const appliance = ctx.createAppliance({
      name: NAME,
      description: `x ${version} from ${home}`,
      properties: [
        { name: 'instance.label', type: 'string', category: 'user', value: 'default', description: 'a value each deployment may change' },
        { name: 'product.home', type: 'string', category: 'system', value: home, description: 'installation directory' },
        { name: 'product.version', type: 'string', category: 'system', value: version, description: 'x version' },
      ],
      fileSets: [{ name: 'home', root: home, excludes: ['logs/*.log', 'tmp'] }],
    });
    ctx.addContentResource(appliance, { name: 'settings.properties', content: SETTINGS_TEMPLATE, template: true, description: 'settings written at rehydration' });
    ctx.progress(100, 'done');
  },

  /** On the instance, after abctl extracted the file sets: turn the saved template into the real file. */
  async rehydrate(ctx) {
    const home = ctx.appliance.fileSets.find((f) => f.name === 'home');
    if (!home) throw new Error('the appliance has no file set "home"; was it made by x?');
    await ctx.renderContentResource('settings.properties', `${home.root}/settings.properties`, { owner: home.owner, group: home.group, mode: 0o644 });
    ctx.log.info(`configured ${home.root} as "${ctx.appliance.property('instance.label')}"`);
  },
};

/** Tells the upgrade check where the product (and any newer plugin it ships) lives. */
const locator = {
  pluginOrExtensionName: NAME,
  productInstallHomes(parameters) {
    return typeof parameters.home === 'string' ? [parameters.home] : [];
  },
};

let registrations = [];

export const activator = {
  start(context) {
    registrations = [
      context.registerService(context.ids.IntrospectorPlugin, plugin),
      context.registerService(context.ids.IntrospectorPluginLocator, locator),
    ];
  },
  stop() {
    for (const r of registrations) r.unregister();
    registrations = [];
  },
};
