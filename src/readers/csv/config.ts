// The `source` block of a CSV pipeline (`source.type: "csv"`) and the reader's tuning options.

import { z } from 'zod';
import { isValidTimeZone } from '../../dates.js';
import { METRICS } from '../../model.js';
import { UNIT_NAMES } from '../../units.js';

export const WIDE_ROLES = ['date', 'domain', 'dom_id', ...METRICS] as const;
export const LONG_ROLES = ['date', 'domain', 'dom_id', 'protocol', 'direction', 'bytes', 'unit'] as const;
export type Role = (typeof WIDE_ROLES)[number] | (typeof LONG_ROLES)[number];
const LONG_ONLY: readonly Role[] = ['protocol', 'direction', 'bytes', 'unit'];

/** Default `maxRecordBytes`: a traffic row is well under 1 KiB, a note with line breaks a few KiB. */
export const DEFAULT_MAX_RECORD_BYTES = 4 * 1024 * 1024;

const headerName = z.string().trim().min(1);

export const csvSourceSchema = z
  .strictObject({
    type: z.literal('csv'),
    /** File path, relative to the pipeline file; `-` = standard input; `*.gz` is gunzipped while read. */
    path: z.string().min(1),
    /** wide: one row per domain-day with metric columns; long: one row per domain-day-protocol-direction. */
    layout: z.enum(['wide', 'long']).default('wide'),
    /** Our column name → the file's header name (matched trimmed and case-insensitively). */
    columns: z
      .strictObject({
        date: headerName.optional(),
        domain: headerName.optional(),
        dom_id: headerName.optional(),
        smtp_in: headerName.optional(),
        smtp_out: headerName.optional(),
        pop3_imap_in: headerName.optional(),
        pop3_imap_out: headerName.optional(),
        protocol: headerName.optional(),
        direction: headerName.optional(),
        bytes: headerName.optional(),
        unit: headerName.optional(),
      })
      .optional(),
    /** Unit of every value (a long file's `unit` column overrides it per row): KB/MB/GB = 10^3.., KiB/MiB/GiB = 2^10.. */
    unit: z.enum(UNIT_NAMES).default('B'),
    /** IANA zone that defines a day: timestamps are bucketed into its days; offset-less times are local to it. */
    timezone: z.string().refine(isValidTimeZone, { error: 'expected an IANA time zone name such as Europe/Berlin' }).default('UTC'),
    delimiter: z
      .string()
      .min(1)
      .refine((d) => !/["\r\n]/.test(d), { error: 'a delimiter cannot contain a quote or a line break' })
      .default(','),
    /**
     * A record (one line, or several when a quoted field holds line breaks) longer than this is rejected alone
     * (R_RECORD_TOO_LONG, or R_PARSE for a quote not closed within it) and reading goes on after it; this much of
     * a record is the most the reader holds in memory.
     */
    maxRecordBytes: z.int().min(256).max(1024 * 1024 * 1024).default(DEFAULT_MAX_RECORD_BYTES),
  })
  .superRefine((cfg, ctx) => {
    // A mapped column the layout never reads is a mistake in the pipeline file, not something to ignore.
    for (const role of Object.keys(cfg.columns ?? {}) as Role[]) {
      const used = cfg.layout === 'wide' ? !LONG_ONLY.includes(role) : !(METRICS as readonly string[]).includes(role);
      if (!used) {
        ctx.addIssue({ code: 'custom', path: ['columns', role], message: `"${role}" is not a column of the ${cfg.layout} layout` });
      }
    }
  });

export type CsvSourceConfig = z.output<typeof csvSourceSchema>;
export type CsvSourceInput = z.input<typeof csvSourceSchema>;

/** Tuning, not configuration (the pipeline file cannot set it). */
export interface CsvReaderOptions {
  /** Size of the reads from the file (default 1 MiB); tests use tiny reads to put chunk edges everywhere. */
  readChunkBytes?: number;
  /** Files at least this large are read by worker threads when the run does not say how many (default 16 MiB). */
  parallelFromBytes?: number;
}
