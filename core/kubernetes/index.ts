/**
 * What an assembly becomes on Kubernetes, without I/O: name rules, the container contract's
 * paths and the object shapes. The walk over an assembly and plan is services/kubernetes.
 */
export * from './contract.js';
export * from './names.js';
export * from './objects.js';
