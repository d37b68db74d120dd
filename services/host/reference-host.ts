// The interface lives in core (plugins code against it); the implementations live here.
export * from '../../core/reference-host.js';
