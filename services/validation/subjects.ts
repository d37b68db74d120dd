/** The two kinds of base a check runs against: a base image's files, or a host reached through the host layer. */
import type { ReferenceHost } from '../../core/reference-host.js';
import type { BaseFiles } from './base-files.js';
import { hostFacts, imageFacts } from './facts.js';
import type { CheckSubject } from './requirements-service.js';

export function imageSubject(base: BaseFiles): CheckSubject {
  return {
    kind: 'image',
    description: `base ${base.description}`,
    view: { kind: 'image', description: base.description, readFile: (p) => base.readFile(p) },
    fix: base.fix,
    facts: () => imageFacts(base),
  };
}

/** `spec` is how the plan names the host (`local`, `ssh://user@h:22`). */
export function hostSubject(host: ReferenceHost, spec: string): CheckSubject {
  const remote = spec === 'local' ? undefined : host.describe();
  return {
    kind: 'host',
    description: `host ${spec}`,
    view: {
      kind: 'host',
      description: spec,
      async readFile(path) {
        try {
          return await host.readFile(path);
        } catch (err) {
          if ((err as { code?: unknown }).code === 'HOST_PATH_NOT_FOUND') return undefined;
          throw err;
        }
      },
    },
    fix: (command) => (remote ? `on ${remote}: ${command}` : command),
    facts: (requirements) => hostFacts(host, requirements),
  };
}
