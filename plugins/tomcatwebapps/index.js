// Extension of the tomcat plugin: the web applications deployed in CATALINA_BASE/webapps. It
// moves webapps/ out of the parent's "base" file set into a file set of its own (keeping only
// the chosen applications) and records each application's context path. With no application
// (or no webapps/ directory) it does nothing.

/** @typedef {import('../../core/plugin-contract.js').DehydrateContext} DehydrateContext */
/** @typedef {import('../../core/lifecycle-contract.js').LifecycleContext} LifecycleContext */

const NAME = 'tomcatwebapps';

/** Tomcat's naming rules: ROOT is "/", `#` stands for `/`, and `##version` is not part of the path. */
export function contextPath(app) {
  const name = app.split('##')[0];
  return name === 'ROOT' ? '/' : `/${name.replaceAll('#', '/')}`;
}

/** Escapes a file name so that an exclude pattern matches exactly it. */
const literal = (name) => name.replace(/[*?[\]{}()!|\\+@]/g, '\\$&');

const extension = {
  name: NAME,
  parentName: 'tomcat',
  // `abctl introspecttomcatwebapps` runs the tomcat plugin and this extension.
  alias: true,

  jobParameters() {
    return [{ name: 'webapps', type: 'string', description: 'applications to capture, by directory or WAR name (ROOT,app), comma-separated; "all" for every one', defaultValue: 'all' }];
  },

  /** @param {DehydrateContext} ctx */
  async dehydrate(ctx) {
    const [appliance] = ctx.appliances;
    const base = appliance?.properties.getValue('catalina.base');
    if (!appliance || !base) return;
    const dir = `${base}/webapps`;
    const st = await ctx.host.lstat(dir);
    if (st?.type !== 'directory') return;
    // An application is a directory or a WAR; a WAR and the directory Tomcat expanded it to are one.
    const entries = (await ctx.host.readdir(dir)).filter((e) => e.type === 'directory' || (e.type === 'file' && e.name.endsWith('.war')));
    const apps = [...new Set(entries.map((e) => e.name.replace(/\.war$/, '')))].sort();
    const wanted = String(ctx.parameters.webapps ?? 'all').split(',').map((s) => s.trim()).filter(Boolean);
    const chosen = wanted.includes('all') ? apps : apps.filter((a) => wanted.includes(a));
    const unknown = wanted.filter((w) => w !== 'all' && !apps.includes(w));
    if (unknown.length > 0) {
      throw Object.assign(new Error(`no application ${unknown.join(', ')} in ${dir}`), { code: 'TOMCAT_WEBAPP_UNKNOWN', hint: `--webapps takes names from: ${apps.join(', ') || '(none)'}, or all` });
    }
    if (chosen.length === 0) {
      ctx.log.info(`no web application in ${dir}: nothing to add`);
      return;
    }
    for (const app of chosen) {
      appliance.properties.add({ name: `webapp.${app}.path`, type: 'string', category: 'system', value: contextPath(app), description: `context path of ${app} (webapps/${app})` }, 'plugin');
    }
    const parent = appliance.getFileSet('base');
    if (parent && !parent.excludes.includes('webapps')) appliance.updateFileSet('base', { excludes: [...parent.excludes, 'webapps'] }, 'plugin');
    const excluded = (await ctx.host.readdir(dir)).filter((e) => !chosen.includes(e.name.replace(/\.war$/, ''))).map((e) => literal(e.name));
    appliance.addFileSet({ name: 'webapps', root: dir, excludes: excluded, owner: 'tomcat', group: 'tomcat' }, 'plugin');
  },

  /**
   * Tomcat writes into webapps/ (expanding WARs), so the tree belongs to tomcat whatever the
   * capture recorded; nothing to do when no application was captured.
   * @param {LifecycleContext} ctx
   */
  async rehydrate(ctx) {
    const set = ctx.appliance.fileSets.find((f) => f.name === 'webapps');
    if (!set) return;
    await ctx.setOwnership(set.root, { owner: 'tomcat', group: 'tomcat', recursive: true });
    const apps = ctx.appliance.properties.filter((p) => p.name.startsWith('webapp.') && p.name.endsWith('.path')).map((p) => p.value);
    ctx.log.info(`web applications at ${apps.join(', ')}`);
  },
};

export default class WebappsActivator {
  start(context) {
    this.registration = context.registerService(context.ids.IntrospectorPluginExtension, extension);
  }

  stop() {
    this.registration?.unregister();
  }
}
