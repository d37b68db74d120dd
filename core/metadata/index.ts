/**
 * The metadata model: appliances, assemblies and their parts, with every naming and
 * structural rule checked where objects are built or changed. Pure data and rules:
 * no I/O; the catalog serializes the `toPlain()` forms.
 */
export type { Actor } from './actor.js';
export { ACTORS, isPrivileged } from './actor.js';

export {
  NAME_SYMBOLS,
  MAX_OBJECT_NAME_LENGTH,
  RESERVED_PROPERTY_PREFIXES,
  EXTERNAL_TYPE_PREFIX,
  checkObjectName,
  checkPartName,
  checkPropertyName,
  checkContentResourceName,
  checkApplianceType,
  isValidObjectName,
  isValidContentResourceName,
  isReservedPropertyName,
  isExternalType,
  hasOnlyNameCharacters,
} from './names.js';

export { REDACTED } from './redaction.js';
export { WHERE_SEPARATOR } from './where.js';

export type { PropertyType, PropertyCategory, PropertyInput, PropertyValue, PropertyInit, PropertyPlain } from './properties.js';
export { PROPERTY_TYPES, PROPERTY_CATEGORIES, Property, PropertySet, isSecretType, normalizePropertyValue } from './properties.js';

export type { FileRefTarget } from './file-refs.js';
export { CONTENT_RESOURCE_SCHEME, contentResourceUri, checkFileRefUri, danglingFileRefs, missingContentResource, resolveFileRef } from './file-refs.js';

export type { ContentResourceInit, ContentResourcePlain } from './content-resources.js';
export { ContentResource } from './content-resources.js';

export type { InputInit, InputPlain, OutputInit, OutputPlain, Compatibility, InputLike } from './endpoints.js';
export { Input, Output, checkCompatible, effectivePort } from './endpoints.js';

export type { InterfaceKind, NetworkInterfaceInit, NetworkInterfacePlain } from './interfaces.js';
export { DEFAULT_INTERFACE_NAME, INTERFACE_KINDS, NetworkInterface, defaultInterface } from './interfaces.js';

export type { Scalability } from './scalability.js';
export { MAX_INSTANCES, SINGLE_INSTANCE, checkScalability, isClusteredScalability } from './scalability.js';

export { ExcludeMatcher, compileExcludes, isExcluded, checkExcludePattern } from './excludes.js';

export type {
  FileSetCategory,
  FileSetScope,
  SharedType,
  MountTarget,
  FileSetDefinitionInit,
  FileSetDefinitionPlain,
  FileSetChanges,
} from './file-sets.js';
export {
  FILE_SET_CATEGORIES,
  FILE_SET_SCOPES,
  SHARED_TYPES,
  DEFAULT_FILE_OWNER,
  DEFAULT_FILE_GROUP,
  MOUNT_TARGET_FROM_PLAN,
  FileSetDefinition,
  checkFileSetEdit,
} from './file-sets.js';

export type { ResourceRequirements, ApplianceInit, AppliancePlain } from './appliance.js';
export { Appliance } from './appliance.js';

export type { Participant, ParticipantPlain } from './participants.js';
export { checkParticipants, madeWith, formatParticipants, readParticipants } from './participants.js';

export type { ExternalResourceInit, ExternalResourcePlain } from './external-resource.js';
export { ExternalResource, DEFAULT_EXTERNAL_TYPE } from './external-resource.js';

export type { EndpointRef, Connection, ConnectionPlain } from './connections.js';
export { REF_SEPARATOR, parseEndpointRef, formatEndpointRef } from './connections.js';

export type { VnetInit, VnetPlain } from './vnets.js';
export { Vnet, DEFAULT_VNET_NAME } from './vnets.js';

export type {
  EndpointRefLike,
  ConnectionInit,
  AtomicAssemblyInit,
  AtomicAssemblyPlain,
  AssemblyMember,
  AssemblyMemberPlain,
  AssemblyInit,
  AssemblyPlain,
} from './assembly.js';
export { Assembly, AtomicAssembly, memberFromPlain, memberKind } from './assembly.js';

export type { MissingProperty } from './deployability.js';
export { findMissingRequired, checkDeployable, describeMissing } from './deployability.js';
