/** Rules of rehydration that need no I/O: effective properties (more to come with issue 10). */
export { EffectiveProperties, PROPERTY_LAYERS } from './effective-properties.js';
export type { EffectiveProperty, EffectiveValue, LateBinding, PropertyLayer, PropertyLayers, PropertyOverride } from './effective-properties.js';
