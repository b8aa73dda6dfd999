// The cPanel source's pipeline keys (`source.type: "cpanel"`), one schema per `from`. What they mean: docs/sources/cpanel.md.

import { z } from 'zod';
import { isValidTimeZone } from '../../dates.js';

const timezone = z
  .string()
  .refine(isValidTimeZone, { message: 'not an IANA time zone name (e.g. "Europe/Berlin")' })
  .default('UTC')
  .describe('Zone of the days: the cPanel server zone for daily rows, the wanted zone for hourly rows');
const interval = z.enum(['daily', 'hourly']).default('daily');
const accountMap = z.string().min(1).optional().describe('CSV user,domain; wins over cpuser files and listaccts');
const usersPath = z.string().min(1).default('/var/cpanel/users').describe('Directory of cpuser files (DNS= line)');

export const cpanelApiSourceSchema = z.strictObject({
  type: z.literal('cpanel'),
  from: z.literal('api'),
  /** WHM base URL; port 2087 when none is given. Env WHM_URL overrides it. */
  url: z.url({ protocol: /^https?$/ }).optional(),
  /** Accounts to read; default: every account `listaccts` returns. */
  accounts: z.array(z.string().min(1)).min(1).optional(),
  accountMap,
  /** Days to read when the run has no --from: cPanel keeps revising recent days (§1.6). */
  days: z.number().int().min(1).max(400).default(7),
  interval,
  timezone,
  concurrency: z.number().int().min(1).max(16).default(2),
  /** Retries of a request after a connection error, 5xx or 429. */
  retries: z.number().int().min(0).max(10).default(3),
  timeoutMs: z.number().int().min(1000).max(600_000).default(60_000),
  /** Accept any certificate (WHM often has a self-signed one): prefer `ca`. */
  insecureTls: z.boolean().default(false),
  /** PEM file of the CA (or the self-signed certificate) to trust for WHM. */
  ca: z.string().min(1).optional(),
});

export const cpanelSqliteSourceSchema = z.strictObject({
  type: z.literal('cpanel'),
  from: z.literal('sqlite'),
  /** A directory (every `*.sqlite`) or one `<user>.sqlite` file, normally /var/cpanel/bandwidth. */
  path: z.string().min(1),
  usersPath,
  accountMap,
  interval,
  timezone,
});

export const cpanelBackupSourceSchema = z.strictObject({
  type: z.literal('cpanel'),
  from: z.literal('backup'),
  /** A cpmove archive (.tar.gz, .tgz, .tar) or its extracted directory. */
  path: z.string().min(1),
  accountMap,
  interval,
  timezone,
});

export const cpanelLegacySourceSchema = z.strictObject({
  type: z.literal('cpanel'),
  from: z.literal('legacy'),
  /** Directory of pre-2015 flat files (or one user's daily file). */
  path: z.string().min(1),
  usersPath,
  accountMap,
});

export const cpanelSourceSchema = z.discriminatedUnion('from', [
  cpanelApiSourceSchema,
  cpanelSqliteSourceSchema,
  cpanelBackupSourceSchema,
  cpanelLegacySourceSchema,
]);

export type CpanelSource = z.infer<typeof cpanelSourceSchema>;
export type CpanelApiSource = z.infer<typeof cpanelApiSourceSchema>;
export type CpanelSqliteSource = z.infer<typeof cpanelSqliteSourceSchema>;
export type CpanelBackupSource = z.infer<typeof cpanelBackupSourceSchema>;
export type CpanelLegacySource = z.infer<typeof cpanelLegacySourceSchema>;
