/**
 * Catalog, assembly editing and deployment plan commands, described statically like
 * COMMANDS (help needs no code); each implementation is imported when it runs.
 */
import { defineCommand, jsonOption, type CommandDefinition, type JsonOption, type OptionSpec } from './command-spec.js';

export interface NameFilterOptions extends JsonOption {
  readonly name?: string;
}
export interface NamedOptions extends JsonOption {
  readonly name: string;
}
export interface CreateAssemblyOptions extends NamedOptions {
  readonly description?: string;
}
export interface AssemblyOptions extends JsonOption {
  readonly assembly: string;
}
export interface AddToAssemblyOptions extends AssemblyOptions {
  readonly name: string;
  readonly as?: string;
  readonly into?: string;
}
export interface RemoveFromAssemblyOptions extends AssemblyOptions {
  readonly member: string;
}
export interface ConnectEndpointsOptions extends AssemblyOptions {
  readonly from: string;
  readonly to: string;
}
export interface DisconnectEndpointsOptions extends AssemblyOptions {
  readonly from: string;
}
export interface CreateExternalResourceOptions extends AssemblyOptions {
  readonly output: string;
  readonly name: string;
  readonly type?: string;
  readonly description?: string;
}
export interface AddVnetOptions extends AssemblyOptions {
  readonly name: string;
  readonly cidr?: string;
}
/** The object a property belongs to (see docs/assemblies.md, "Object paths"). */
export interface PropertyTargetOptions extends JsonOption {
  readonly assembly?: string;
  readonly appliance?: string;
  readonly path?: string;
  readonly input?: string;
  readonly output?: string;
  readonly interface?: string;
  readonly property: string;
}
export interface SetPropertyOptions extends PropertyTargetOptions {
  readonly value?: string;
  readonly valueFile?: string;
}
export interface CreateDeploymentPlanOptions extends AssemblyOptions {
  readonly out: string;
  readonly force?: boolean;
}
export interface ValidateDeploymentPlanOptions extends AssemblyOptions {
  readonly plan: string;
  readonly requireHosts?: boolean;
}
export interface SetPlanPasswordOptions extends AssemblyOptions {
  readonly plan: string;
  readonly path?: string;
  readonly property: string;
  readonly valueFile?: string;
  /** Refused: a password is never taken from the command line (the option exists to say so). */
  readonly value?: string;
}

const assembly: OptionSpec<AssemblyOptions> = { flags: '--assembly <name>', description: 'assembly in the catalog', required: true };

const describe = () => import('./commands/catalog/describe.js');
const edit = () => import('./commands/catalog/edit.js');
const props = () => import('./commands/catalog/properties.js');
const plans = () => import('./commands/catalog/plans.js');
const verify = () => import('./commands/catalog/verify.js');

const target: readonly OptionSpec<PropertyTargetOptions>[] = [
  { flags: '--assembly <name>', description: 'assembly in the catalog (atomic or not) holding the object' },
  { flags: '--appliance <path>', description: 'with --assembly: member path inside it (web, tier/web); alone: an appliance in the catalog' },
  { flags: '--path <path>', description: 'object path below --appliance/--assembly: member names joined by /, then input/NAME, output/NAME or interface/NAME' },
  { flags: '--input <name>', description: 'an input of that appliance (same as --path input/NAME)' },
  { flags: '--output <name>', description: 'an output of that appliance' },
  { flags: '--interface <name>', description: 'an interface of that appliance' },
  { flags: '--property <name>', description: 'property name', required: true },
];

const PATHS =
  'The object is named by --assembly and/or --appliance plus --path/--input/--output/--interface, e.g.\n' +
  '  --assembly shop --appliance web --input http --property port\n' +
  '  --assembly shop --path tier/db/input/sql --property user\n' +
  '  --appliance web --property heap.mb          (an appliance in the catalog, outside any assembly)\n' +
  'Only user properties can be changed; system properties are read-only, fileRef properties are set in the deployment plan.';

export const CATALOG_COMMANDS: readonly CommandDefinition[] = [
  defineCommand<JsonOption>({
    name: 'describeCatalog',
    summary: 'list the appliances and assemblies in the catalog',
    details: 'Files that cannot be read are listed with the reason; the rest of the catalog is still shown.',
    options: [jsonOption],
    load: () => describe().then((m) => ({ run: m.describeCatalog })),
  }),
  defineCommand<NameFilterOptions>({
    name: 'describeAppliances',
    summary: 'show appliances with their properties, endpoints, interfaces and file sets',
    details: 'Password values are shown as ********.',
    options: [{ flags: '--name <appliance>', description: 'show only this appliance' }, jsonOption],
    load: () => describe().then((m) => ({ run: m.describeAppliances })),
  }),
  defineCommand<NameFilterOptions>({
    name: 'describeAssemblies',
    summary: 'show assemblies with their members, connections, vnets and properties',
    details: 'Password values are shown as ********.',
    options: [{ flags: '--name <assembly>', description: 'show only this assembly' }, jsonOption],
    load: () => describe().then((m) => ({ run: m.describeAssemblies })),
  }),
  defineCommand<JsonOption>({
    name: 'verifyCatalog',
    summary: 'check every catalog document and every captured archive (size and SHA-256 against its record)',
    details: 'Lists every problem (damaged or unreadable documents, missing or damaged archives, files no capture recorded) and exits with 1 when there is any.',
    options: [jsonOption],
    load: () => verify().then((m) => ({ run: m.verifyCatalog })),
  }),
  defineCommand<CreateAssemblyOptions>({
    name: 'createAssembly',
    summary: 'create an empty assembly',
    details: 'Appliances and assemblies share one namespace in the catalog.',
    options: [{ flags: '--name <assembly>', description: 'name of the new assembly (at most 40 characters)', required: true }, { flags: '--description <text>', description: 'what it is for' }, jsonOption],
    load: () => edit().then((m) => ({ run: m.createAssembly })),
  }),
  defineCommand<AddToAssemblyOptions>({
    name: 'addToAssembly',
    summary: 'add a copy of a catalog appliance, atomic assembly or assembly to an assembly',
    details: 'The member is a copy: later changes to the catalog object do not change the assembly. Atomic assemblies cannot be added to.',
    options: [
      assembly,
      { flags: '--name <object>', description: 'appliance, atomic assembly or assembly to add', required: true },
      { flags: '--as <name>', description: 'name of the member (default: the object name; use it to add the same appliance twice)' },
      { flags: '--into <path>', description: 'sub-assembly of --assembly to add it to (member names joined by /)' },
      jsonOption,
    ],
    load: () => edit().then((m) => ({ run: m.addToAssembly })),
  }),
  defineCommand<RemoveFromAssemblyOptions>({
    name: 'removeFromAssembly',
    summary: 'remove a member from an assembly, with the connections that touch it',
    options: [assembly, { flags: '--member <path>', description: 'member to remove: its name, or tier/web inside sub-assembly tier', required: true }, jsonOption],
    load: () => edit().then((m) => ({ run: m.removeFromAssembly })),
  }),
  defineCommand<ConnectEndpointsOptions>({
    name: 'connectEndpoints',
    summary: 'connect an output to an input in an assembly',
    details:
      'Endpoints are member/endpoint (paths may go into sub-assemblies: tier/db/sql). The input must have every connection property the output names;\n' +
      'otherwise the command says which are missing. To connect to something outside the assembly, use createExternalResource.',
    options: [assembly, { flags: '--from <output>', description: 'output, as member/output', required: true }, { flags: '--to <input>', description: 'input, as member/input', required: true }, jsonOption],
    load: () => edit().then((m) => ({ run: m.connectEndpoints })),
  }),
  defineCommand<DisconnectEndpointsOptions>({
    name: 'disconnectEndpoints',
    summary: 'remove the connection that starts at an output',
    options: [assembly, { flags: '--from <output>', description: 'output, as member/output', required: true }, jsonOption],
    load: () => edit().then((m) => ({ run: m.disconnectEndpoints })),
  }),
  defineCommand<CreateExternalResourceOptions>({
    name: 'createExternalResource',
    summary: 'add a placeholder for something outside the assembly and connect an output to it',
    details: "Its input gets the output's connection properties (values and required flags included), so fill those in with setProperty or the deployment plan.",
    options: [
      assembly,
      { flags: '--output <output>', description: 'output to connect, as member/output', required: true },
      { flags: '--name <name>', description: 'name of the external resource', required: true },
      { flags: '--type <type>', description: 'type, starting with External (default External)' },
      { flags: '--description <text>', description: 'what it stands for' },
      jsonOption,
    ],
    load: () => edit().then((m) => ({ run: m.createExternalResource })),
  }),
  defineCommand<AddVnetOptions>({
    name: 'addVnet',
    summary: 'add a virtual network to an assembly',
    options: [assembly, { flags: '--name <vnet>', description: 'vnet name', required: true }, { flags: '--cidr <cidr>', description: 'address range, e.g. 10.0.0.0/24' }, jsonOption],
    load: () => edit().then((m) => ({ run: m.addVnet })),
  }),
  defineCommand<SetPropertyOptions>({
    name: 'setProperty',
    summary: 'set the value of a user property',
    details: `${PATHS}\nPassword values are never taken from the command line: use --value-file, $AB_PROPERTY_VALUE, or answer the prompt.`,
    options: [
      ...target,
      { flags: '--value <value>', description: 'new value (not for passwords)' },
      { flags: '--value-file <file>', description: 'read the value from the first line of this file' },
      jsonOption,
    ],
    load: () => props().then((m) => ({ run: m.setProperty })),
  }),
  defineCommand<PropertyTargetOptions>({
    name: 'unsetProperty',
    summary: 'clear the value of a user property (back to "no value")',
    details: PATHS,
    options: [...target, jsonOption],
    load: () => props().then((m) => ({ run: m.unsetProperty })),
  }),
  defineCommand<NamedOptions>({
    name: 'deleteAppliance',
    summary: 'delete an appliance from the catalog',
    details: 'Refused while an assembly holds it; the error names the assemblies.',
    options: [{ flags: '--name <appliance>', description: 'appliance to delete', required: true }, jsonOption],
    load: () => edit().then((m) => ({ run: m.deleteAppliance })),
  }),
  defineCommand<NamedOptions>({
    name: 'deleteAssembly',
    summary: 'delete an assembly (or atomic assembly) from the catalog',
    details: 'An atomic assembly is refused while an assembly holds it.',
    options: [{ flags: '--name <assembly>', description: 'assembly to delete', required: true }, jsonOption],
    load: () => edit().then((m) => ({ run: m.deleteAssembly })),
  }),
  defineCommand<CreateDeploymentPlanOptions>({
    name: 'createDeploymentPlan',
    summary: "write a deployment plan for an assembly: user properties, fileRefs, instance counts, synthetic properties, hosts",
    details:
      'Only a (non-atomic) assembly has a plan. Passwords are written encrypted with the instance key, or blank (set them with setPlanPassword).\n' +
      'Afterwards it lists what still has to be filled in.',
    options: [
      assembly,
      { flags: '--out <file>', description: 'plan file to write', required: true },
      { flags: '--force', description: 'replace the file if it exists' },
      jsonOption,
    ],
    load: () => plans().then((m) => ({ run: m.createDeploymentPlan })),
  }),
  defineCommand<ValidateDeploymentPlanOptions>({
    name: 'validateDeploymentPlan',
    summary: 'check a deployment plan against its assembly and list every problem',
    details: 'Exits with 1 when there is any problem: required values missing, overrides that are not allowed, bad values, counts out of bounds.',
    options: [
      assembly,
      { flags: '--plan <file>', description: 'plan file to check', required: true },
      { flags: '--require-hosts', description: 'also require a target host for every instance' },
      jsonOption,
    ],
    load: () => plans().then((m) => ({ run: m.validateDeploymentPlan })),
  }),
  defineCommand<SetPlanPasswordOptions>({
    name: 'setPlanPassword',
    summary: 'set a password property in a deployment plan (stored encrypted)',
    details: 'The value comes from --value-file, $AB_PROPERTY_VALUE or a prompt without echo, never from the command line.',
    options: [
      assembly,
      { flags: '--plan <file>', description: 'plan file to change', required: true },
      { flags: '--path <path>', description: 'object path in the assembly (web, tier/db, corp-ldap/input/ldap); default: the assembly' },
      { flags: '--property <name>', description: 'password property name', required: true },
      { flags: '--value-file <file>', description: 'read the password from the first line of this file' },
      { flags: '--value <password>', description: 'refused: a password never comes from the command line', hidden: true },
      jsonOption,
    ],
    load: () => plans().then((m) => ({ run: m.setPlanPassword })),
  }),
];
