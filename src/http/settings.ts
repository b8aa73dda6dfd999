// The pipeline keys every HTTP client shares (Plesk target, WHM, OpenSRS): one vocabulary — `timeouts`,
// `retry`, `ca`, `insecureTls` — with each client's own defaults. The older per-source names (`retries`,
// `timeoutMs`, `retryDelayMs`) keep working as documented aliases and are folded into the new ones here.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { TiError, errorMessage } from '../errors.js';

export interface Timeouts {
  /** TCP + TLS handshake. */
  connectMs: number;
  /** From the request sent to the response headers. */
  headersMs: number;
  /** Between two chunks of the response body. */
  bodyMs: number;
}

export interface RetryPolicy {
  /** Tries in all, the first included (1 = never retry). */
  attempts: number;
  /** First backoff delay; doubles per attempt, with jitter. */
  minDelayMs: number;
  /** Cap of any delay, Retry-After included. */
  maxDelayMs: number;
}

/** What a client needs to talk HTTP: timeouts, retries and TLS trust (the CA as PEM text, already read). */
export interface HttpSettings {
  timeouts: Timeouts;
  retry: RetryPolicy;
  /** PEM of the CA (or self-signed certificate) to trust, besides the system's. */
  ca?: string;
  /** Skip certificate checks: an explicit opt-in, warned about by each client. */
  insecureTls: boolean;
}

export interface HttpDefaults {
  timeouts: Timeouts;
  retry: RetryPolicy;
}

/** A connect that takes longer than this is broken, whatever `timeoutMs` says. */
const ALIAS_CONNECT_CAP_MS = 30_000;

const ms = z.int().min(1);

/** Shape fragment of the shared keys, to spread into a source's or the target's strict object. */
export const httpKeys = {
  timeouts: z.strictObject({ connectMs: ms.optional(), headersMs: ms.optional(), bodyMs: ms.optional() }).optional(),
  retry: z
    .strictObject({
      attempts: z.int().min(1).max(20).optional(),
      minDelayMs: z.int().min(0).optional(),
      maxDelayMs: z.int().min(0).optional(),
    })
    .optional(),
  /** PEM file of the CA to trust (relative to the pipeline file). */
  ca: z.string().min(1).optional(),
  insecureTls: z.boolean().default(false),
};

/** The older names, kept as aliases: `retries` = retry.attempts − 1, `timeoutMs` = every timeout, `retryDelayMs` = retry.minDelayMs. */
export const httpAliasKeys = {
  retries: z.int().min(0).max(19).optional(),
  timeoutMs: ms.optional(),
  retryDelayMs: z.int().min(0).optional(),
};

type HttpKeysIn = {
  timeouts?: Partial<Timeouts> | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  ca?: string | undefined;
  insecureTls: boolean;
  retries?: number | undefined;
  timeoutMs?: number | undefined;
  retryDelayMs?: number | undefined;
};

export type FoldedHttpKeys<T> = Omit<T, 'retries' | 'timeoutMs' | 'retryDelayMs' | 'timeouts' | 'retry'> & { timeouts: Timeouts; retry: RetryPolicy };

const ALIASES: [alias: 'retries' | 'timeoutMs' | 'retryDelayMs', key: string, covers: (c: HttpKeysIn) => boolean][] = [
  ['retries', 'retry.attempts', (c) => c.retry?.attempts !== undefined],
  ['timeoutMs', 'timeouts', (c) => c.timeouts !== undefined],
  ['retryDelayMs', 'retry.minDelayMs', (c) => c.retry?.minDelayMs !== undefined],
];

/** zod superRefine: an alias and the key it stands for may not both be given. */
export function checkHttpAliases(cfg: HttpKeysIn, ctx: z.RefinementCtx): void {
  for (const [alias, key, covers] of ALIASES) {
    if (cfg[alias] !== undefined && covers(cfg)) {
      ctx.addIssue({ code: 'custom', path: [alias], message: `"${alias}" is the older name of "${key}": give one of them` });
    }
  }
}

/** zod transform: the aliases folded into `timeouts`/`retry`, the defaults filled in. */
export function foldHttpKeys<T extends HttpKeysIn>(cfg: T, defaults: HttpDefaults): FoldedHttpKeys<T> {
  const { retries, timeoutMs, retryDelayMs, timeouts, retry, ...rest } = cfg;
  const fromAlias: Partial<Timeouts> = timeoutMs === undefined ? {} : {
    connectMs: Math.min(timeoutMs, ALIAS_CONNECT_CAP_MS), headersMs: timeoutMs, bodyMs: timeoutMs,
  };
  return {
    ...rest,
    timeouts: { ...defaults.timeouts, ...fromAlias, ...definedOnly(timeouts) },
    retry: {
      ...defaults.retry,
      ...(retries !== undefined ? { attempts: retries + 1 } : {}),
      ...(retryDelayMs !== undefined ? { minDelayMs: retryDelayMs } : {}),
      ...definedOnly(retry),
    },
  } as FoldedHttpKeys<T>;
}

function definedOnly<O extends object>(o: O | undefined): Partial<O> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<O>;
}

/** The settings a client runs with: the folded keys plus the CA file read (relative to the pipeline file). */
export async function httpSettingsOf(
  cfg: { timeouts: Timeouts; retry: RetryPolicy; ca?: string | undefined; insecureTls: boolean },
  baseDir: string,
): Promise<HttpSettings> {
  const out: HttpSettings = { timeouts: cfg.timeouts, retry: cfg.retry, insecureTls: cfg.insecureTls };
  if (cfg.ca) out.ca = await readCa(path.resolve(baseDir, cfg.ca));
  return out;
}

export async function readCa(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new TiError('TI_TLS', `CA file ${file}: ${errorMessage(err)}`, { file }, { cause: err });
  }
}
