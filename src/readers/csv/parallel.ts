// Large files on worker threads: not yet; every file is read in the calling thread (false = not handled).
import type { Normalizer } from '../../normalize.js';
import type { ReaderContext } from '../types.js';
import type { CsvReaderOptions, CsvSourceConfig } from './config.js';

export async function readParallel(_cfg: CsvSourceConfig, _ctx: ReaderContext, _n: Normalizer, _opts: CsvReaderOptions): Promise<boolean> {
  return false;
}
