import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { captureFileSet, captureFromTarStream } from '../../services/capture/index.js';
import { FileSetCapture, captureModule } from '../../services/capture/module.js';

describe('captureModule', () => {
  it('binds the FileSetCapture service to the capture functions', () => {
    const container = new Container();
    container.load(captureModule);
    const svc = container.get<FileSetCapture>(FileSetCapture);
    expect(svc.captureFileSet).toBe(captureFileSet);
    expect(svc.captureFromTarStream).toBe(captureFromTarStream);
  });
});
