// The Tomcat plugin: introspects an Apache Tomcat 10 instance (a CATALINA_BASE and the
// CATALINA_HOME it runs from) and re-creates it on deployed instances. See docs/products/tomcat.md.

/** @typedef {import('../../core/plugin-contract.js').ServiceContext} ServiceContext */
/** @typedef {import('../../core/plugin-contract.js').DehydrateContext} DehydrateContext */
/** @typedef {import('../../core/lifecycle-contract.js').LifecycleContext} LifecycleContext */

import { describeInstance, resourceName } from './lib/dehydrate.js';
import { findInstances, resolveInstance, tomcatProcesses, tomcatVersion } from './lib/layout.js';
import * as lifecycle from './lib/lifecycle.js';

const NAME = 'tomcat';

const plugin = {
  name: NAME,
  allowExtensionsToCreateAppliances: false,

  jobParameters() {
    return [
      { name: 'catalina-base', type: 'path', description: 'CATALINA_BASE of the instance (the directory holding conf/server.xml); default: the only instance on the host' },
      { name: 'catalina-home', type: 'path', description: 'CATALINA_HOME it runs from (holding bin/catalina.sh); default: what the running JVM or the layout says' },
    ];
  },

  /** @param {DehydrateContext} ctx */
  async dehydrate(ctx) {
    ctx.progress(5, 'finding the instance');
    const where = await resolveInstance(ctx.host, ctx.parameters);
    const version = await tomcatVersion(ctx.host, where.home);
    ctx.progress(20, 'reading server.xml and the context files');
    const found = await describeInstance(ctx.host, where, ctx.log);
    const appliance = ctx.createAppliance({
      name: 'tomcat',
      description: `Apache Tomcat ${version}: ${where.base} (home ${where.home})`,
      resources: { memoryMiB: 1024, cpus: 1 },
      // A middle tier: instances share nothing but the database, so a deployment may run several behind a proxy.
      scalability: { min: 1, target: 1, max: 8, absoluteMax: 64 },
      properties: [
        ...found.properties,
        { name: 'catalina.home', type: 'string', category: 'system', value: where.home, description: 'CATALINA_HOME (the same path on every instance)' },
        { name: 'catalina.base', type: 'string', category: 'system', value: where.base, description: 'CATALINA_BASE (the same path on every instance)' },
        { name: 'product.version', type: 'string', category: 'system', value: version, description: 'Tomcat version' },
      ],
      inputs: found.inputs,
      outputs: found.outputs,
      fileSets: found.fileSets,
    });
    ctx.progress(80, 'saving the configuration templates');
    for (const t of found.templates) {
      // renders: the real path (Debian's conf is a link to /etc/tomcat10), so it falls under the file
      // set that holds it; a template naming a password keeps the reference's copy out of the capture.
      // catalina.properties and setenv.sh come named, with their real path; the XML files by their place under conf/.
      const renders = t.renders ?? `${found.realConf}/${t.rel}`;
      ctx.addContentResource(appliance, { name: t.name ?? resourceName(t.rel), content: t.content, template: true, renders, description: `${t.rel ? `conf/${t.rel}` : renders} as a template` });
    }
    ctx.progress(100, 'done');
  },

  /** One entry per instance (CATALINA_BASE) found, with the installation it runs from. */
  async discover(ctx) {
    const { instances } = await findInstances(ctx.host);
    const out = [];
    for (const i of instances) {
      const version = i.home ? await tomcatVersion(ctx.host, i.home) : 'unknown';
      out.push({
        description: `Tomcat ${version} instance ${i.base}${i.home ? ` (home ${i.home})` : ''}${i.pid ? `, running as pid ${i.pid}` : ''}`,
        parameters: { 'catalina-base': i.base, ...(i.home ? { 'catalina-home': i.home } : {}) },
      });
    }
    return out;
  },

  /** @param {LifecycleContext} ctx */
  async rehydrate(ctx) {
    await lifecycle.rehydrate(ctx);
  },
  start: (ctx) => lifecycle.start(ctx),
  stop: (ctx) => lifecycle.stop(ctx),
  ping: (ctx) => lifecycle.ping(ctx),
};

const locator = {
  pluginOrExtensionName: NAME,
  productInstallHomes(parameters) {
    return typeof parameters['catalina-home'] === 'string' ? [parameters['catalina-home']] : [];
  },
};

/**
 * A running Tomcat can be captured consistently: it only reads its configuration, jars and
 * scripts, and what it writes (logs, work, temp) is not captured. The exception is an
 * application being deployed: a WAR whose directory is missing or older than the WAR is being
 * (or about to be) expanded, so a file set holding webapps/ is refused until Tomcat stops.
 */
const captureCheck = {
  pluginName: NAME,
  async validateCapture({ appliance, host, fileSet }) {
    const base = appliance.property('catalina.base');
    const def = appliance.fileSets.find((f) => f.name === fileSet);
    if (!base || !def) return undefined;
    const holdsWebapps = def.root === `${base}/webapps` || (def.root === base && !def.excludes.includes('webapps'));
    if (!holdsWebapps) return undefined;
    const running = (await tomcatProcesses(host)).find((p) => p.base === base);
    if (!running) return undefined;
    const webapps = `${base}/webapps`;
    for (const e of await host.readdir(webapps).catch(() => [])) {
      if (e.type !== 'file' || !e.name.endsWith('.war')) continue;
      const war = await host.stat(`${webapps}/${e.name}`);
      const dir = await host.stat(`${webapps}/${e.name.slice(0, -4)}`);
      if (!dir || dir.mtimeMs < war.mtimeMs) {
        return `Tomcat (pid ${running.pid}) is deploying ${webapps}/${e.name}; stop it before capturing: kill ${running.pid} (or CATALINA_BASE=${base} ${running.home ?? appliance.property('catalina.home')}/bin/shutdown.sh)`;
      }
    }
    return undefined;
  },
};

/**
 * Tomcat needs a Java runtime, which is not captured (it is a Debian package), and the user and
 * group tomcat, which own CATALINA_BASE and run the JVM.
 */
const baseRequirements = {
  pluginName: NAME,
  baseImageRequirements() {
    return [
      // Any Java 17 build: the jars are bytecode for Java 11 and later. Not the exact build installed
      // on the reference: a base made from Debian's main archive lags the security updates.
      { kind: 'package', name: 'openjdk-17-jre-headless', minVersion: '17', message: 'Tomcat 10.1 runs on this Java runtime (not captured: it comes from the base)' },
      { kind: 'user', name: 'tomcat', message: 'Tomcat runs as tomcat and owns CATALINA_BASE' },
      { kind: 'group', name: 'tomcat', message: 'group of CATALINA_BASE and of Debian\'s /etc/tomcat10' },
    ];
  },
};

export const activator = {
  /** @param {ServiceContext} context */
  start(context) {
    // abctl withdraws them when the plugin stops (SDK 1.5): no stop() to write.
    context.registerServices({ IntrospectorPlugin: plugin, IntrospectorPluginLocator: locator, PackagerValidationPlugin: captureCheck, BaseImageValidationPlugin: baseRequirements });
  },
};
