import 'reflect-metadata';
import { ContainerModule } from 'inversify';
import { DefaultReferenceHostFactory, ReferenceHostFactory } from './connect.js';

export { DefaultReferenceHostFactory, ReferenceHostFactory, isLocalSpec, openReferenceHost } from './connect.js';
export type { ReferenceHostOptions } from './connect.js';
export type {
  GlobOptions,
  HostDirEntry,
  HostEntryType,
  HostStat,
  ReferenceHost,
  RunOptions,
  RunResult,
  TarStreamOptions,
} from '../../core/reference-host.js';
export type { HostLogger, SshHostOptions } from './ssh-host.js';

/**
 * Reference host access. The factory holds no state (each opened host is closed by whoever
 * opened it), so one instance serves the whole process.
 */
export const hostModule = new ContainerModule(({ bind }) => {
  bind<ReferenceHostFactory>(ReferenceHostFactory).to(DefaultReferenceHostFactory).inSingletonScope();
});
