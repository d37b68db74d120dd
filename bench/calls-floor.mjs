#!/usr/bin/env node
// The floor under a Node.js capture of many small files: the per-file calls alone, nothing
// written. Walks ROOT (readdirSync with file types) and makes, per regular file, the calls a
// capture cannot do without: open, fstat, read of its bytes, close, on THREADS threads (the
// list split evenly; the main thread takes one share). bench/capture.mjs times it beside tar in
// the "many small files" shape; run alone: node bench/calls-floor.mjs ROOT [THREADS]
import * as fs from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

function files(root) {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(root);
  return out;
}

function readAll(paths) {
  const buf = Buffer.allocUnsafeSlow(1 << 20);
  let bytes = 0;
  for (const p of paths) {
    const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const size = Math.min(fs.fstatSync(fd).size, buf.length);
      for (let got = 0, n = 1; got < size && n > 0; got += n) n = fs.readSync(fd, buf, got, size - got, null);
      bytes += size;
    } finally {
      fs.closeSync(fd);
    }
  }
  return bytes;
}

if (isMainThread) {
  const [root, threadsArg] = process.argv.slice(2);
  if (!root) throw new Error('usage: node bench/calls-floor.mjs ROOT [THREADS]');
  const threads = Math.max(1, Number(threadsArg ?? 1));
  const paths = files(root);
  const per = Math.ceil(paths.length / threads);
  const others = Array.from({ length: threads - 1 }, (_, i) =>
    new Promise((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: paths.slice((i + 1) * per, (i + 2) * per) });
      w.once('message', resolve).once('error', reject);
    }));
  readAll(paths.slice(0, per));
  await Promise.all(others);
} else {
  parentPort.postMessage(readAll(workerData));
}
