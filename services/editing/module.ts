import { ContainerModule } from 'inversify';
import { DeploymentPlanService } from './deployment-plans.js';
import { EditingService } from './editing-service.js';

/** Assembly editing and deployment plan files; needs the catalog module (Catalog) and InstanceLayout. */
export const editingModule = new ContainerModule(({ bind }) => {
  bind(EditingService).toSelf().inSingletonScope();
  bind(DeploymentPlanService).toSelf().inSingletonScope();
});
