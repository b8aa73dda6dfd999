// The cPanel source's pipeline keys (`source.type: "cpanel"`), one schema per `from`. What they mean: docs/sources/cpanel.md.

import { z } from 'zod';
import { isValidTimeZone } from '../../dates.js';
import {
  checkHttpAliases, foldHttpKeys, hasUserinfo, httpAliasKeys, httpKeys, userinfoProblem, type HttpDefaults,
} from '../../http/index.js';

/** WHM: a slow server (Bandwidth::query over months), a few gentle retries. */
export const WHM_HTTP_DEFAULTS: HttpDefaults = {
  timeouts: { connectMs: 30_000, headersMs: 60_000, bodyMs: 60_000 },
  retry: { attempts: 4, minDelayMs: 500, maxDelayMs: 10_000 },
};

const timezone = z
  .string()
  .refine(isValidTimeZone, { message: 'not an IANA time zone name (e.g. "Europe/Berlin")' })
  .default('UTC')
  .describe('Zone of the days: the cPanel server zone for daily rows, the wanted zone for hourly rows');
const interval = z.enum(['daily', 'hourly']).default('daily');
const accountMap = z.string().min(1).optional().describe('CSV user,domain; wins over cpuser files and listaccts');
const usersPath = z.string().min(1).default('/var/cpanel/users').describe('Directory of cpuser files (DNS= line)');

/**
 * Keys every `from` accepts (one pipeline can switch `from` without losing them). Where one has no effect it is
 * said in docs/sources/cpanel.md: usersPath for api (listaccts names the domain) and backup (cp/<user> inside
 * the archive); timezone and interval for legacy (its dates are the server's days already; daily files only).
 */
const shared = { accountMap, interval, timezone, usersPath };

export const cpanelApiSourceSchema = z
  .strictObject({
    type: z.literal('cpanel'),
    from: z.literal('api'),
    /** WHM base URL; port 2087 when none is given. Env WHM_URL overrides it. */
    url: z.url({ protocol: /^https?$/ }).refine((u) => !hasUserinfo(u), { message: userinfoProblem('the URL', 'WHM_USER + WHM_API_TOKEN') }).optional(),
    /** Accounts to read; default: every account `listaccts` returns. */
    accounts: z.array(z.string().min(1)).min(1).optional(),
    ...shared,
    /** Days to read when the run has no --from: cPanel keeps revising recent days (§1.6). */
    days: z.number().int().min(1).max(400).default(7),
    concurrency: z.number().int().min(1).max(16).default(2),
    /** timeouts, retry, ca, insecureTls (src/http); WHM often has a self-signed certificate: prefer `ca`. */
    ...httpKeys,
    /** Older names: retries (= retry.attempts − 1), timeoutMs (every timeout). */
    retries: httpAliasKeys.retries,
    timeoutMs: z.int().min(1000).max(600_000).optional(),
  })
  .superRefine(checkHttpAliases)
  .transform((c) => foldHttpKeys(c, WHM_HTTP_DEFAULTS));

export const cpanelSqliteSourceSchema = z.strictObject({
  type: z.literal('cpanel'),
  from: z.literal('sqlite'),
  /** A directory (every `*.sqlite`) or one `<user>.sqlite` file, normally /var/cpanel/bandwidth. */
  path: z.string().min(1),
  ...shared,
});

export const cpanelBackupSourceSchema = z.strictObject({
  type: z.literal('cpanel'),
  from: z.literal('backup'),
  /** A cpmove archive (.tar.gz, .tgz, .tar) or its extracted directory. */
  path: z.string().min(1),
  ...shared,
});

export const cpanelLegacySourceSchema = z.strictObject({
  type: z.literal('cpanel'),
  from: z.literal('legacy'),
  /** Directory of pre-2015 flat files (or one user's daily file). */
  path: z.string().min(1),
  ...shared,
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
