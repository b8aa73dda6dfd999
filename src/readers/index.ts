// The reader registry: `source.type` → config schema and factory. Adding a source = one module + one line here.

import type { z } from 'zod';
import type { Reader } from './types.js';
import { csvSourceSchema, createCsvReader } from './csv/index.js';
import { cpanelSourceSchema, createCpanelReader } from './cpanel/index.js';
import { opensrsSourceSchema, createOpensrsReader } from './opensrs.js';
import { maillogSourceSchema, createMaillogReader } from './maillog/index.js';

export type { Reader, ReaderContext, Rejection } from './types.js';

interface ReaderEntry<S extends z.ZodType> {
  schema: S;
  create(cfg: z.output<S>): Reader;
}

function entry<S extends z.ZodType>(schema: S, create: (cfg: z.output<S>) => Reader): ReaderEntry<S> {
  return { schema, create };
}

export const READERS = {
  csv: entry(csvSourceSchema, createCsvReader),
  cpanel: entry(cpanelSourceSchema, createCpanelReader),
  opensrs: entry(opensrsSourceSchema, createOpensrsReader),
  maillog: entry(maillogSourceSchema, createMaillogReader),
} as const;

export type SourceType = keyof typeof READERS;
export type SourceConfig = { [K in SourceType]: z.output<(typeof READERS)[K]['schema']> }[SourceType];

export function createReader(cfg: SourceConfig): Reader {
  const e = READERS[cfg.type as SourceType] as ReaderEntry<z.ZodType>;
  return e.create(cfg);
}
