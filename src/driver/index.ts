// The TypeScript RA driver: what the layers above import.
export { Adapter, type AdapterIdentity, type AdapterStatus } from './adapter.js';
export { type Completion, type Descriptor, DmaController, encodeLocation, type Location } from './dma.js';
export { DriverCode, deviceError, deviceErrorCode, RaError } from './errors.js';
export { type FunctionName, functionIds, functionName, functionNames, isFunctionName } from './functions.js';
export { HostBuffer } from './hostmem.js';
export { type ModelOptions, ModelProcess } from './model-process.js';
export { addon, modelExecutable } from './native.js';
export { type SliceInfo, type SliceKindName, type SlicePlacement, Slices } from './slices.js';
export { type SlotInfo, Slots } from './slots.js';
