// Worker thread entry (parallel.ts): reads one byte range (range.ts) and posts its result back; the Normalizer's
// blocks are transferred, not copied.

import { parentPort, workerData } from 'node:worker_threads';
import { ERRORS, TiError } from '../../errors.js';
import { readRange, type RangeJob } from './range.js';

readRange(workerData as RangeJob).then(
  (result) => parentPort?.postMessage({ result }, [result.state.blocks.buffer as ArrayBuffer]),
  (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    const ti = e instanceof TiError ? { code: e.code, message: e.message.slice(ERRORS[e.code].length + 2), details: e.details } : {};
    parentPort?.postMessage({ error: { name: e.name, message: e.message, ...ti } });
  },
);
