// Bitstreams: descriptor format, validation, signing, trust, catalog and loading (docs/bitstreams.md).

export { type BitstreamSpec, buildBitstream, payloadFor, sizeClassFor } from './build.js';
export {
  Catalog,
  type CatalogEntry,
  type CatalogOptions,
  type CatalogProblem,
  type RegisterSource,
} from './catalog.js';
export { BitstreamCode } from './codes.js';
export { assertCompatible, compatibilityProblems, type TargetAdapter } from './compatibility.js';
export {
  compareVersions,
  type Descriptor,
  type DescriptorSignature,
  formatDescriptor,
  headerFor,
  parseDescriptor,
  type SlotFunctionName,
  type SlotSizeClass,
  slotSizeClassBytes,
  type UnsignedDescriptor,
  validateDescriptor,
} from './descriptor.js';
export { type BitstreamFiles, readBitstream, writeBitstreamFiles } from './files.js';
export { configurationFrames } from './frames.js';
export {
  buildImage,
  type ImageHeader,
  type PipelineStage,
  parseImageHeader,
  pipelinePayload,
} from './image.js';
export { checkImage } from './image-checks.js';
export {
  type BitstreamSource,
  type LoadBitstreamOptions,
  type LoadedBitstream,
  loadBitstream,
  prepareBitstream,
} from './loader.js';
export { DESCRIPTOR_SCHEMA_ID, descriptorSchema } from './schema.js';
export {
  canonicalJson,
  generateSigningKey,
  keyIdOf,
  readSigningKey,
  signatureValid,
  signDescriptor,
  writeKeyPair,
} from './signing.js';
export {
  checkSignature,
  defaultPolicy,
  defaultTrustPath,
  type SignaturePolicy,
  type SignatureStatus,
  TrustStore,
} from './trust.js';
export { type VerifiedBitstream, verifyBitstream, verifyBitstreamFile } from './verify.js';
