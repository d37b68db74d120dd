import 'reflect-metadata';
import { ContainerModule } from 'inversify';
import { KubernetesExporter } from './exporter.js';

export { KubernetesExporter, ALL_FILE, KUSTOMIZATION_FILE, SECRETS_FILE, toYaml, type ExportOptions, type ExportResult, type ExportedFile } from './exporter.js';
export { buildManifests, DEFAULT_VOLUME_SIZE, type ManifestOptions, type Manifests } from './manifests.js';
export { resolveImages, type ImageOptions } from './images.js';

/**
 * Kubernetes manifests; needs the editing module (DeploymentPlanService). Loaded by the
 * command that uses it, so other commands do not pay for the YAML library.
 */
export const kubernetesModule = new ContainerModule(({ bind }) => {
  bind(KubernetesExporter).toSelf().inSingletonScope();
});
