// The TypeScript RA driver: what the layers above import.
export { Adapter, type AdapterIdentity, type AdapterStatus } from './adapter.js';
export { DmaController, type Descriptor, type Completion, type Location, encodeLocation } from './dma.js';
export { RaError, DriverCode, deviceError, deviceErrorCode } from './errors.js';
export { functionIds, functionName, functionNames, isFunctionName, slotFunctions, type FunctionName } from './functions.js';
export { HostBuffer } from './hostmem.js';
export { ModelProcess, type ModelOptions } from './model-process.js';
export { addon, modelExecutable } from './native.js';
export { Slices, type SliceInfo, type SliceKindName, type SlicePlacement } from './slices.js';
export { Slots, type SlotInfo } from './slots.js';
