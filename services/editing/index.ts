export type { PropertyTarget, AddToAssemblyOptions, ExternalResourceOptions, PropertyChange } from './editing-service.js';
export { EditingService } from './editing-service.js';
export type { PlanValidation } from './deployment-plans.js';
export { DeploymentPlanService } from './deployment-plans.js';
export { editingModule } from './module.js';
