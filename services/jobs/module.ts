import { ContainerModule } from 'inversify';
import { CaptureJob } from './capture-job.js';
import { DiscoverJob } from './discover-job.js';
import { IntrospectJob } from './introspect-job.js';

/** The jobs that run plugin chains over a host; they need the registry, plugins, host and catalog modules. */
export const jobsModule = new ContainerModule(({ bind }) => {
  bind(IntrospectJob).toSelf().inSingletonScope();
  bind(CaptureJob).toSelf().inSingletonScope();
  bind(DiscoverJob).toSelf().inSingletonScope();
});
