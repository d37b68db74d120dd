/**
 * The utilities area. `ctx.utils` is the usual way in; the reference SDK's way, asking the
 * registry for the `UtilFactory` service, works too: abctl registers one (owner `abctl`) that
 * acts for the plugin whose hook is running, found through AsyncLocalStorage, so a helper
 * module deep in a plugin need not be handed the context.
 */
import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { ContainerModule } from 'inversify';
import { UserError } from '../../core/errors.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import { ServiceIds } from '../../core/service-ids.js';
import type { UtilFactory } from '../../core/util-contract.js';
import { ServiceRegistry } from '../registry/service-registry.js';

export { OperationUtils } from './operation-utils.js';
export type { OperationScope, PluginRef } from './operation-utils.js';

/** The registry owner of abctl's own services. */
export const FRAMEWORK_OWNER = 'abctl';

const current = new AsyncLocalStorage<UtilFactory>();

/** Runs a hook with `utils` as what the registered UtilFactory stands for. */
export function withUtils<T>(utils: UtilFactory, fn: () => T): T {
  return current.run(utils, fn);
}

function active(what: string): UtilFactory {
  const utils = current.getStore();
  if (utils === undefined) {
    throw new UserError('UTIL_NOT_IN_OPERATION', `UtilFactory.${what} was called outside a hook`, {
      hint: 'call it while dehydrate, rehydrate, start, stop or ping runs (activators start before any operation); ctx.utils is the same object',
    });
  }
  return utils;
}

/** What the registry hands out: every call goes to the running hook's `ctx.utils` (async ones reject outside a hook). */
export const registeredUtilFactory: UtilFactory = Object.freeze({
  sdkVersion: SDK_VERSION,
  ssh: async (...a: Parameters<UtilFactory['ssh']>) => active('ssh()').ssh(...a),
  contentBuilder: async (...a: Parameters<UtilFactory['contentBuilder']>) => active('contentBuilder()').contentBuilder(...a),
  run: async (...a: Parameters<UtilFactory['run']>) => active('run()').run(...a),
  tempFile: async (...a: Parameters<UtilFactory['tempFile']>) => active('tempFile()').tempFile(...a),
  tempDir: async (...a: Parameters<UtilFactory['tempDir']>) => active('tempDir()').tempDir(...a),
  cache: (...a: Parameters<UtilFactory['cache']>) => active('cache()').cache(...a),
  loadImplementation: async <T>(version: string, table: Parameters<UtilFactory['loadImplementation']>[1]) => active('loadImplementation()').loadImplementation<T>(version, table),
  stopProcess: async (...a: Parameters<UtilFactory['stopProcess']>) => active('stopProcess()').stopProcess(...a),
  waitForExit: async (...a: Parameters<UtilFactory['waitForExit']>) => active('waitForExit()').waitForExit(...a),
});

/** Registers the UtilFactory service in every registry this container makes. */
export const utilsModule = new ContainerModule(({ onActivation }) => {
  onActivation(ServiceRegistry, (_context, registry) => {
    registry.register(FRAMEWORK_OWNER, ServiceIds.UtilFactory, registeredUtilFactory);
    return registry;
  });
});
