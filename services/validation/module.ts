import 'reflect-metadata';
import { ContainerModule } from 'inversify';
import { HostRequirementsCheck, ImageRequirementsCheck } from './port.js';
import { RequirementsService } from './requirements-service.js';
import { ValidationService } from './validation-service.js';

export { HostRequirementsCheck, ImageRequirementsCheck, type HostCheckOptions } from './port.js';
export { RequirementsService, describeReports, refusal, type Participant, type RequirementsReport } from './requirements-service.js';
export { ValidationService, type HostReports } from './validation-service.js';
export { RootFsDir, baseFilesOf, type BaseFiles, type OpenedBase } from './base-files.js';

/**
 * Requirements of plugins on base images and hosts; needs the registry, plugins, catalog,
 * editing and host modules. Provides deploy's HostRequirementsCheck and the engine targets' ImageRequirementsCheck.
 */
export const validationModule = new ContainerModule(({ bind }) => {
  bind(RequirementsService).toSelf().inSingletonScope();
  bind(ValidationService).toSelf().inSingletonScope();
  bind<HostRequirementsCheck>(HostRequirementsCheck).toService(ValidationService);
  bind<ImageRequirementsCheck>(ImageRequirementsCheck).toService(ValidationService);
});
