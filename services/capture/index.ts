/** File set capture (local side): see capture.ts for the archive layout and encoders.ts for the codecs. */
export { captureFileSet, captureFromTarStream } from './capture.js';
export type {
  CaptureFileSetOptions,
  CaptureFromTarStreamOptions,
  CaptureOutputOptions,
  CaptureProgress,
  CaptureResult,
  ExcludeFilter,
  SkippedEntry,
  SkipReason,
} from './capture.js';
export { BLOCK_SIZE, CAPTURE_CODECS, DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL } from './encoders.js';
export type { CaptureCodec } from './encoders.js';
export { DEFAULT_SECRET_PATHS, SecretFilter } from './secrets.js';
export { encodeHeader, decodeHeader, paxRecord, parsePax } from './tar-header.js';
export type { TarEntryType, TarHeaderInput, DecodedHeader } from './tar-header.js';
export { TarStreamScanner } from './tar-scanner.js';
