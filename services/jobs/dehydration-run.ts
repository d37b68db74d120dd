import { PluginError, UserError } from '../../core/errors.js';
import {
  Appliance,
  AtomicAssembly,
  ContentResource,
  isReservedPropertyName,
  type ApplianceInit,
  type Participant,
  type PropertySet,
} from '../../core/metadata/index.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import type {
  ContentResourceData,
  DehydrateContext,
  JobParameterValues,
  PluginLogger,
  ProgressReporter,
  ReferenceHost,
  UtilFactory,
} from '../../core/plugin-contract.js';
import { pluginMessages } from '../messages/plugin-messages.js';

/** What one introspection produced, before anything is written to the catalog. */
export interface DehydrationResult {
  readonly appliances: readonly Appliance[];
  readonly atomicAssembly: AtomicAssembly | undefined;
  /** Content resource bytes by appliance name, then resource name. */
  readonly content: ReadonlyMap<string, ReadonlyMap<string, Uint8Array>>;
  /** Who added each content resource (`appliance\0resource` -> plugin): its template errors are that plugin's. */
  readonly contentAddedBy: ReadonlyMap<string, string>;
}

export interface RunSettings {
  /** The root plugin: every appliance's creator. */
  readonly rootPlugin: string;
  /** The whole chain with its versions (`chainParticipants`), recorded on what the run makes. */
  readonly participants: readonly Participant[];
  readonly allowExtensionsToCreateAppliances: boolean;
  readonly parameters: JobParameterValues;
  readonly host: ReferenceHost;
  readonly tmpDir: string;
  /** `--name`: replaces the name the plugin gives its appliance or atomic assembly. */
  readonly requestedName?: string | undefined;
}

/**
 * Every member of a chain with the version installed now, root first. Members that have no
 * dehydrate hook count too: rehydration runs them all on what this run makes.
 */
export function chainParticipants(inventory: PluginInventory, members: readonly { readonly name: string }[]): Participant[] {
  return members.flatMap((m) => {
    const version = inventory.records.get(m.name)?.manifest?.version;
    // A chain member is enabled, so it has a manifest; no version means it is not one.
    return version === undefined ? [] : [{ name: m.name, version }];
  });
}

/**
 * The state shared by the plugin and its extensions during one dehydration. Each participant
 * gets its own context (so the framework knows who is calling) over this one result.
 */
export class DehydrationRun {
  private readonly appliances: Appliance[] = [];
  private atomic: AtomicAssembly | undefined;
  private readonly content = new Map<string, Map<string, Uint8Array>>();
  private readonly contentAddedBy = new Map<string, string>();

  constructor(private readonly settings: RunSettings) {}

  contextFor(pluginName: string, log: PluginLogger, progress: ProgressReporter, utils: UtilFactory): DehydrateContext {
    const run = this;
    const isRoot = pluginName === this.settings.rootPlugin;
    return Object.freeze({
      pluginName,
      parameters: this.settings.parameters,
      host: this.settings.host,
      tmpDir: this.settings.tmpDir,
      log,
      progress,
      messages: pluginMessages(pluginName),
      get appliances() {
        return run.currentAppliances();
      },
      get atomicAssembly() {
        return run.atomic;
      },
      createAppliance: (init: Omit<ApplianceInit, 'creator' | 'participants'>) => run.createAppliance(pluginName, isRoot, init),
      createAtomicAssembly: (init: { name: string; description?: string }) => run.createAtomicAssembly(pluginName, isRoot, init),
      addContentResource: (appliance: Appliance | string, data: ContentResourceData) => run.addContentResource(pluginName, appliance, data),
      utils,
    });
  }

  result(): DehydrationResult {
    return { appliances: this.currentAppliances(), atomicAssembly: this.atomic, content: this.content, contentAddedBy: this.contentAddedBy };
  }

  private currentAppliances(): readonly Appliance[] {
    return this.atomic ? this.atomic.appliances : [...this.appliances];
  }

  private refuseExtension(pluginName: string, isRoot: boolean, what: string): void {
    if (isRoot) return;
    if (!this.settings.allowExtensionsToCreateAppliances) {
      throw new PluginError(pluginName, 'EXTENSION_CANNOT_CREATE', `extension ${pluginName} tried to ${what}, which ${this.settings.rootPlugin} does not allow`, {
        hint: `an extension adds to the metadata its parent creates; ${this.settings.rootPlugin} would have to set allowExtensionsToCreateAppliances`,
      });
    }
  }

  private createAppliance(pluginName: string, isRoot: boolean, init: Omit<ApplianceInit, 'creator' | 'participants'>): Appliance {
    this.refuseExtension(pluginName, isRoot, `create appliance "${init.name}"`);
    // Framework-set like the creator: whatever a plugin passed is overwritten.
    const full: ApplianceInit = { ...init, creator: this.settings.rootPlugin, participants: this.settings.participants };
    if (this.atomic) {
      // As the contract says: every appliance after the first is its sibling (shares its file sets).
      const primary = this.atomic.appliances[0];
      return this.atomic.addAppliance(primary && full.fileSetsFrom === undefined ? { ...full, fileSetsFrom: primary.name } : full, 'plugin');
    }
    if (!isRoot) {
      throw new PluginError(pluginName, 'EXTENSION_CANNOT_CREATE', `extension ${pluginName} can add appliances only to an atomic assembly, and ${this.settings.rootPlugin} created none`);
    }
    if (this.appliances.length > 0) {
      throw new PluginError(pluginName, 'DEHYDRATION_SHAPE', `${pluginName} already created appliance "${this.appliances[0]!.name}"; an introspection yields one appliance or one atomic assembly`, {
        hint: 'create an atomic assembly first, then its appliances',
      });
    }
    const appliance = new Appliance(this.settings.requestedName ? { ...full, name: this.settings.requestedName } : full);
    this.appliances.push(appliance);
    return appliance;
  }

  private createAtomicAssembly(pluginName: string, isRoot: boolean, init: { name: string; description?: string }): AtomicAssembly {
    this.refuseExtension(pluginName, isRoot, `create atomic assembly "${init.name}"`);
    if (this.atomic || this.appliances.length > 0) {
      throw new PluginError(pluginName, 'DEHYDRATION_SHAPE', 'an introspection yields one appliance or one atomic assembly, and one was already created');
    }
    this.atomic = new AtomicAssembly({ ...init, name: this.settings.requestedName ?? init.name, creator: this.settings.rootPlugin, participants: this.settings.participants });
    return this.atomic;
  }

  private addContentResource(pluginName: string, target: Appliance | string, data: ContentResourceData): ContentResource {
    const name = typeof target === 'string' ? target : target.name;
    const appliance = this.currentAppliances().find((a) => a.name === name);
    if (!appliance) {
      throw new PluginError(pluginName, 'APPLIANCE_UNKNOWN', `no appliance "${name}" was created in this introspection`);
    }
    const bytes = typeof data.content === 'string' ? Buffer.from(data.content, 'utf8') : data.content;
    const resource = appliance.addContentResource(
      { name: data.name, path: data.name, ...(data.description !== undefined ? { description: data.description } : {}), template: data.template === true, ...(data.renders !== undefined ? { renders: data.renders } : {}) },
      'plugin',
    );
    this.contentAddedBy.set(`${name}\0${data.name}`, pluginName);
    let forAppliance = this.content.get(name);
    if (!forAppliance) this.content.set(name, (forAppliance = new Map()));
    forAppliance.set(data.name, bytes);
    if (data.exposeAs !== undefined) appliance.exposeContentResource(data.name, data.exposeAs);
    return resource;
  }
}

/**
 * Checks after the whole chain ran: something was produced, and no plugin used names reserved
 * for abctl (plugins pass their actor themselves, so one claiming to be the framework is
 * caught here rather than trusted).
 */
export function checkResult(result: DehydrationResult, rootPlugin: string): void {
  if (result.appliances.length === 0) {
    throw new UserError('DEHYDRATION_EMPTY', `${rootPlugin} created no appliance`, {
      hint: 'check the job parameters (does the product home hold the product?)',
    });
  }
  for (const a of result.appliances) {
    const sets: [string, PropertySet][] = [
      [`appliance "${a.name}"`, a.properties],
      ...a.inputs.map((i): [string, PropertySet] => [`appliance "${a.name}" > input "${i.name}"`, i.properties]),
      ...a.outputs.flatMap((o): [string, PropertySet][] => [
        [`appliance "${a.name}" > output "${o.name}"`, o.properties],
        [`appliance "${a.name}" > output "${o.name}" connection`, o.connectionProperties],
      ]),
      ...a.interfaces.flatMap((i) => i.flatten()).map((i): [string, PropertySet] => [`appliance "${a.name}" > interface "${i.name}"`, i.properties]),
    ];
    for (const [where, set] of sets) {
      const reserved = set.names().find((n) => isReservedPropertyName(n));
      if (reserved !== undefined) {
        throw new PluginError(rootPlugin, 'PROPERTY_NAME_RESERVED', `property "${reserved}" uses a prefix reserved for abctl (OVAB, Ovab, ovab)`, {
          where,
          hint: 'rename the property; plugins edit metadata as the actor "plugin"',
        });
      }
    }
  }
}
