import 'reflect-metadata';
import { ContainerModule } from 'inversify';
import { BundleWriter } from './bundle-port.js';
import { CatalogBundleWriter } from './catalog-bundles.js';
import { DeploymentService } from './deployer.js';

export { DeploymentService, DEFAULT_TARGET_ROOT, type CommandOptions, type CommandResult, type DeployOptions, type HealthRow, type InstanceFailure, type ProgressEvent, type DeploymentSummary } from './deployer.js';
export { DeploymentTarget, type EngineOptions, type TargetConnection, type TargetOptions } from './target.js';
export { BundleWriter, type BundleRequest, type LateBindings, type PeerBinding } from './bundle-port.js';
export { CatalogBundleWriter } from './catalog-bundles.js';
export { localTargetModule } from './local-target.js';
export { sshTargetModule } from './ssh-target.js';
export { podmanTargetModule } from './podman-target.js';
export { kubernetesTargetModule } from './kubernetes-target.js';
export type { DeploymentRecord, InstanceRecord, InstanceStatus } from './records.js';

/**
 * Deployments; needs the catalog, plugins and editing modules, InstanceLayout, and the
 * target modules (localTargetModule, sshTargetModule), one per kind of host.
 */
export const deployModule = new ContainerModule(({ bind }) => {
  bind(DeploymentService).toSelf().inSingletonScope();
  bind<BundleWriter>(BundleWriter).to(CatalogBundleWriter).inSingletonScope();
});
