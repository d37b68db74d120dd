import { formatEndpointRef, type Connection } from '../../../core/metadata/index.js';
import type {
  AddToAssemblyOptions,
  AddVnetOptions,
  ConnectEndpointsOptions,
  CreateAssemblyOptions,
  CreateExternalResourceOptions,
  DisconnectEndpointsOptions,
  NamedOptions,
  RemoveFromAssemblyOptions,
} from '../../catalog-commands.js';
import type { CommandRun, JsonOption } from '../../command-spec.js';
import { printJson } from '../../session.js';
import { withCatalog } from './context.js';

function say(opts: JsonOption, json: unknown, text: string): number {
  if (opts.json) printJson(json);
  else process.stdout.write(`${text}\n`);
  return 0;
}

const conn = (c: Connection) => ({ from: formatEndpointRef(c.from), to: formatEndpointRef(c.to) });

export const createAssembly: CommandRun<CreateAssemblyOptions> = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const { description } = opts;
    const a = await editing.createAssembly(opts.name, description !== undefined ? { description } : {});
    return say(opts, { created: a.toJSON() }, `created assembly ${a.name}`);
  });

export const addToAssembly: CommandRun<AddToAssemblyOptions> = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const { assembly, as, into } = opts;
    const m = await editing.addToAssembly(assembly, opts.name, { ...(as !== undefined ? { as } : {}), ...(into !== undefined ? { into } : {}) });
    const where = into ? `${assembly}/${into}` : assembly;
    return say(opts, { assembly, into: into ?? null, added: m.toJSON() }, `added ${m.toString()} to assembly ${where}`);
  });

export const removeFromAssembly: CommandRun<RemoveFromAssemblyOptions> = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const { assembly } = opts;
    const r = await editing.removeFromAssembly(assembly, opts.member);
    const text = [`removed ${r.kind} ${r.removed} from assembly ${assembly}`, ...r.connections.map((c) => `  and its connection ${formatEndpointRef(c.from)} -> ${formatEndpointRef(c.to)}`)];
    return say(opts, { assembly, removed: r.removed, kind: r.kind, connections: r.connections.map(conn) }, text.join('\n'));
  });

export const connectEndpoints: CommandRun<ConnectEndpointsOptions> = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const { assembly } = opts;
    const c = await editing.connectEndpoints(assembly, opts.from, opts.to);
    return say(opts, { assembly, connected: conn(c) }, `connected ${formatEndpointRef(c.from)} -> ${formatEndpointRef(c.to)} in assembly ${assembly}`);
  });

export const disconnectEndpoints: CommandRun<DisconnectEndpointsOptions> = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const { assembly } = opts;
    const c = await editing.disconnectEndpoints(assembly, opts.from);
    return say(opts, { assembly, disconnected: conn(c) }, `disconnected ${formatEndpointRef(c.from)} -> ${formatEndpointRef(c.to)} in assembly ${assembly}`);
  });

export const createExternalResource: CommandRun<CreateExternalResourceOptions> = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const { assembly, output, type, description } = opts;
    const ext = await editing.createExternalResource(assembly, output, opts.name, {
      ...(type !== undefined ? { type } : {}),
      ...(description !== undefined ? { description } : {}),
    });
    const props = ext.inputs.flatMap((i) => i.properties.list().map((p) => p.toString()));
    return say(
      opts,
      { assembly, created: ext.toJSON(), connected: { from: output, to: `${ext.name}/${ext.inputs[0]?.name ?? ''}` } },
      `created ${ext.toString()} in assembly ${assembly}, connected from ${output}${props.length ? `\n  properties to fill in: ${props.join(', ')}` : ''}`,
    );
  });

export const addVnet: CommandRun<AddVnetOptions> = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const { assembly } = opts;
    const v = await editing.addVnet(assembly, opts.name, opts.cidr);
    return say(opts, { assembly, added: v.toJSON() }, `added ${v.toString()} to assembly ${assembly}`);
  });

export const deleteAppliance: CommandRun<NamedOptions> = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const { name } = opts;
    await editing.deleteAppliance(name);
    return say(opts, { deleted: { appliance: name } }, `deleted appliance ${name}`);
  });

export const deleteAssembly: CommandRun<NamedOptions> = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const { name } = opts;
    await editing.deleteAssembly(name);
    return say(opts, { deleted: { assembly: name } }, `deleted assembly ${name}`);
  });
