import { ContainerModule } from 'inversify';
import { FileSetCaptureService } from './capture-service.js';
import { IntrospectionService } from './introspection-service.js';

/** The introspector manager; needs the registry, plugins, host, capture and catalog modules. */
export const introspectionModule = new ContainerModule(({ bind }) => {
  bind(IntrospectionService).toSelf().inSingletonScope();
  bind(FileSetCaptureService).toSelf().inSingletonScope();
});
