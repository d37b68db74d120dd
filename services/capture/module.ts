import { ContainerModule } from 'inversify';
import { captureFileSet, captureFromTarStream } from './capture.js';
import type { CaptureFileSetOptions, CaptureFromTarStreamOptions, CaptureResult } from './capture.js';
import type { Readable } from 'node:stream';

/** The capture engine as a service, so callers (catalog, CLI) can be given another one in tests. */
export interface FileSetCapture {
  captureFileSet(opts: CaptureFileSetOptions): Promise<CaptureResult>;
  captureFromTarStream(input: Readable | AsyncIterable<Buffer | Uint8Array | string>, opts: CaptureFromTarStreamOptions): Promise<CaptureResult>;
}

export const FileSetCapture: unique symbol = Symbol.for('abctl.FileSetCapture');

/** Stateless: the functions themselves, bound as a constant. */
export const captureModule = new ContainerModule(({ bind }) => {
  bind<FileSetCapture>(FileSetCapture).toConstantValue({ captureFileSet, captureFromTarStream });
});
