import { formatEndpointRef, type Connection } from '../../../core/metadata/index.js';
import type { CommandRun } from '../../command-table.js';
import { printJson } from '../../session.js';
import { req, str, withCatalog } from './context.js';

function say(opts: Record<string, unknown>, json: unknown, text: string): number {
  if (opts.json) printJson(json);
  else process.stdout.write(`${text}\n`);
  return 0;
}

const conn = (c: Connection) => ({ from: formatEndpointRef(c.from), to: formatEndpointRef(c.to) });

export const createAssembly: CommandRun = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const description = str(opts, 'description');
    const a = await editing.createAssembly(req(opts, 'name'), description !== undefined ? { description } : {});
    return say(opts, { created: a.toJSON() }, `created assembly ${a.name}`);
  });

export const addToAssembly: CommandRun = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const as = str(opts, 'as');
    const into = str(opts, 'into');
    const assembly = req(opts, 'assembly');
    const m = await editing.addToAssembly(assembly, req(opts, 'name'), { ...(as !== undefined ? { as } : {}), ...(into !== undefined ? { into } : {}) });
    const where = into ? `${assembly}/${into}` : assembly;
    return say(opts, { assembly, into: into ?? null, added: m.toJSON() }, `added ${m.toString()} to assembly ${where}`);
  });

export const removeFromAssembly: CommandRun = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const assembly = req(opts, 'assembly');
    const r = await editing.removeFromAssembly(assembly, req(opts, 'member'));
    const text = [`removed ${r.kind} ${r.removed} from assembly ${assembly}`, ...r.connections.map((c) => `  and its connection ${formatEndpointRef(c.from)} -> ${formatEndpointRef(c.to)}`)];
    return say(opts, { assembly, removed: r.removed, kind: r.kind, connections: r.connections.map(conn) }, text.join('\n'));
  });

export const connectEndpoints: CommandRun = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const assembly = req(opts, 'assembly');
    const c = await editing.connectEndpoints(assembly, req(opts, 'from'), req(opts, 'to'));
    return say(opts, { assembly, connected: conn(c) }, `connected ${formatEndpointRef(c.from)} -> ${formatEndpointRef(c.to)} in assembly ${assembly}`);
  });

export const disconnectEndpoints: CommandRun = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const assembly = req(opts, 'assembly');
    const c = await editing.disconnectEndpoints(assembly, req(opts, 'from'));
    return say(opts, { assembly, disconnected: conn(c) }, `disconnected ${formatEndpointRef(c.from)} -> ${formatEndpointRef(c.to)} in assembly ${assembly}`);
  });

export const createExternalResource: CommandRun = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const assembly = req(opts, 'assembly');
    const output = req(opts, 'output');
    const type = str(opts, 'type');
    const description = str(opts, 'description');
    const ext = await editing.createExternalResource(assembly, output, req(opts, 'name'), {
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

export const addVnet: CommandRun = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const assembly = req(opts, 'assembly');
    const v = await editing.addVnet(assembly, req(opts, 'name'), str(opts, 'cidr'));
    return say(opts, { assembly, added: v.toJSON() }, `added ${v.toString()} to assembly ${assembly}`);
  });

export const deleteAppliance: CommandRun = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const name = req(opts, 'name');
    await editing.deleteAppliance(name);
    return say(opts, { deleted: { appliance: name } }, `deleted appliance ${name}`);
  });

export const deleteAssembly: CommandRun = (opts, globals) =>
  withCatalog(globals, async ({ editing }) => {
    const name = req(opts, 'name');
    await editing.deleteAssembly(name);
    return say(opts, { deleted: { assembly: name } }, `deleted assembly ${name}`);
  });
