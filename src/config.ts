// The pipeline file: JSON, validated whole and up front. Every error names its JSON path and what was
// expected; unknown keys are errors (a typo must not pass silently). Secrets never live in the file.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isValidTimeZone } from './dates.js';
import { TiError } from './errors.js';
import { foldHttpKeys, hasUserinfo, httpKeys, userinfoProblem, type HttpDefaults } from './http/index.js';
import { secretFromEnv } from './secrets.js';
import { ledgerConfigSchema } from './ledger/index.js';
import { READERS, type SourceConfig, type SourceType } from './readers/index.js';
import type { PleskAuth } from './plesk/types.js';

/** Where the panel's credentials go instead of a URL's user-info. */
const PLESK_CREDENTIALS = 'PLESK_LOGIN + PLESK_PASSWORD or PLESK_SECRET_KEY';

export { secretFromEnv } from './secrets.js';

/** Plesk: a packet of 100 nodes can take a while on a busy panel; retries for transient faults only. */
export const PLESK_HTTP_DEFAULTS: HttpDefaults = {
  timeouts: { connectMs: 10_000, headersMs: 120_000, bodyMs: 120_000 },
  retry: { attempts: 5, minDelayMs: 500, maxDelayMs: 30_000 },
};

export const targetSchema = z.strictObject({
  type: z.literal('plesk'),
  /** Base URL of the panel; PLESK_URL overrides it. */
  url: z.url({ protocol: /^https?$/ }).refine((u) => !hasUserinfo(u), { message: userinfoProblem('the URL', PLESK_CREDENTIALS) }).optional(),
  /** webspace = subscriptions (seed 001), site = sites (seed 000), auto = webspace, then site. */
  operator: z.enum(['webspace', 'site', 'auto']).default('webspace'),
  batchSize: z.int().min(1).max(10000).default(100),
  concurrency: z.int().min(1).max(64).default(4),
  packetsPerSecond: z.number().positive().optional(),
  /** <packet version>: the seeds use 1.6.3.0 (every supported Plesk accepts it); the schema tree is 1.6.9.1. */
  packetVersion: z.string().regex(/^\d+(\.\d+){1,3}$/, 'expected a version such as 1.6.3.0').default('1.6.3.0'),
  /** timeouts, retry, ca (PEM file of the CA that signed the panel certificate), insecureTls: src/http. */
  ...httpKeys,
  /** CSV `domain,dom_id` that wins over lookups (relative to the pipeline file). */
  idMap: z.string().min(1).optional(),
  /** What set_traffic does on this panel: replace the day's values (default) or add to them. */
  setTrafficSemantics: z.enum(['replace', 'add']).default('replace'),
  /** The panel's time zone (IANA): a day is imported once it is over there (today and later are open); `usage` reports its current month by default. */
  timezone: z.string().refine(isValidTimeZone, { error: 'expected an IANA time zone name such as Europe/Berlin' }).default('UTC'),
}).transform((t) => foldHttpKeys(t, PLESK_HTTP_DEFAULTS));

export const reconcileSchema = z.strictObject({
  mode: z.enum(['absolute', 'cumulative', 'additive']).default('absolute'),
  /** The period a cumulative total runs over. */
  period: z.enum(['month']).default('month'),
  /** Additive mode: the name of the slice this input is (e.g. the log file's hour); default: the input's sha256. */
  slice: z.string().min(1).optional(),
});

/** `state`: the ledger directory and its lock/compaction settings (src/ledger/ledger.ts). */
export const stateSchema = ledgerConfigSchema;

/** A pipeline's name: in the ledger's run records, `runs`, and the lock's "run … of pipeline X is still active". */
const pipelineName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

const pipelineShape = z.strictObject({
  $schema: z.string().optional(),
  /** Default: the file's base name without extension (sanitized). */
  name: pipelineName.optional(),
  description: z.string().optional(),
  // allowEmpty belongs to every source; the reader's own schema sees the rest.
  source: z.looseObject({ type: z.string(), allowEmpty: z.boolean().optional() }),
  target: targetSchema,
  reconcile: reconcileSchema.prefault({}),
  state: stateSchema.prefault({}),
});

export type TargetConfig = z.output<typeof targetSchema>;
export type ReconcileConfig = z.output<typeof reconcileSchema>;

type PipelineFile = z.output<typeof pipelineShape>;

/** A validated pipeline: the file's keys as the schemas give them (defaults filled), plus where it lives. */
export type Pipeline = Omit<PipelineFile, '$schema' | 'name' | 'source' | 'state'> & {
  /** Absolute path of the pipeline file. */
  file: string;
  /** `name`, or the file's base name: what `runs` and the lock show. The ledger is keyed by the panel, not this. */
  name: string;
  /** Directory relative paths are resolved against. */
  baseDir: string;
  /** The reader's config, plus `allowEmpty`: a file source that yields no records is not an error (exit 1). */
  source: SourceConfig & { allowEmpty?: boolean };
  /** Absolute state directory. */
  statePath: string;
  /** The lock and compaction settings of `state` (its `path` is statePath). */
  state: Omit<PipelineFile['state'], 'path'>;
};

/** Default pipeline name: the file's base name without extension, made a valid name. */
export function defaultPipelineName(file: string): string {
  const base = path.parse(file).name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return base || 'pipeline';
}

/** `source.layout` / `target.retry.attempts` / `source.accounts[2]`. */
function jsonPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(top level)' : out;
}

/**
 * What to say about a key the schema does not know: "unknown key (check the spelling)" only when no schema
 * knows it; a key of another source (or another `from`) says so, since its spelling is right.
 */
type UnknownKeyText = (key: string, at: readonly PropertyKey[]) => string;
const SPELLING: UnknownKeyText = () => 'unknown key (check the spelling)';

function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = [], unknownKey: UnknownKeyText = SPELLING): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const at = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push(`${jsonPath([...at, k])}: ${unknownKey(k, at)}`);
      continue;
    }
    if (issue.code === 'invalid_union' && 'errors' in issue && Array.isArray(issue.errors) && issue.errors.length > 0) {
      // Report the branch that got furthest (fewest issues) rather than every branch.
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
      out.push(...describeIssues(best, at, unknownKey));
      continue;
    }
    out.push(`${jsonPath(at)}: ${issue.message}`);
  }
  return out;
}

/** Every source variant (a type, or a cpanel `from`) with the keys its schema accepts. */
function sourceVariants(): { label: string; keys: Set<string> }[] {
  const out: { label: string; keys: Set<string> }[] = [];
  const walk = (type: string, schema: unknown): void => {
    const s = schema as { options?: unknown[]; in?: unknown; shape?: Record<string, unknown> };
    if (Array.isArray(s.options)) for (const o of s.options) walk(type, o);
    else if (s.shape) {
      const from = (s.shape.from as { value?: unknown } | undefined)?.value;
      out.push({ label: typeof from === 'string' ? `${type} from "${from}"` : type, keys: new Set(Object.keys(s.shape)) });
    } else if (s.in) walk(type, s.in);
  };
  for (const [type, entry] of Object.entries(READERS)) walk(type, entry.schema);
  return out;
}

/** Unknown-key text for `source`: names the source (and `from`) the key belongs to when it is another's. */
function sourceKeyText(raw: Record<string, unknown>): UnknownKeyText {
  return (key, at) => {
    if (at.length !== 1) return SPELLING(key, at); // nested (columns.…): the spelling is the question
    const here = typeof raw.from === 'string' ? `${String(raw.type)} from "${raw.from}"` : String(raw.type);
    const homes = sourceVariants().filter((v) => v.label !== here && v.keys.has(key)).map((v) => v.label);
    return homes.length > 0 ? `not a key of source ${here} (it is one of ${homes.join(', ')})` : SPELLING(key, at);
  };
}

/** Keys that would carry a secret in clear: refused with a pointer to the environment variables. */
const SECRET_KEYS = /^(password|passwd|secret|secretkey|secret_key|key|token|apitoken|api_token|login|user)$/i;

function findSecrets(value: unknown, at: PropertyKey[] = []): string[] {
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEYS.test(k) && typeof v === 'string' && !(at.length === 1 && at[0] === 'source' && k === 'user')) {
      out.push(
        `${jsonPath([...at, k])}: secrets never live in the pipeline file; set them in the environment ` +
          `(PLESK_LOGIN + PLESK_PASSWORD or PLESK_SECRET_KEY for Plesk, WHM_API_TOKEN, OPENSRS_USER + OPENSRS_PASSWORD ` +
          `or OPENSRS_TOKEN; each also as *_FILE naming a file)`,
      );
    } else if (typeof v === 'object') {
      out.push(...findSecrets(v, [...at, k]));
    }
  }
  return out;
}

/** Validate a parsed pipeline object. Throws TiError(TI_CONFIG) listing every problem. */
export function parsePipeline(raw: unknown, file: string): Pipeline {
  const problems: string[] = findSecrets(raw);
  const top = pipelineShape.safeParse(raw);
  if (!top.success) problems.push(...describeIssues(top.error.issues));
  let source: SourceConfig | undefined;
  // The source is checked against its reader's schema even when other sections have errors: every problem of
  // the file is reported at once (a typo in `target` must not hide one in `source`).
  const rawSource = (raw as { source?: unknown } | null)?.source;
  const type = (rawSource as { type?: unknown } | null)?.type;
  if (typeof rawSource === 'object' && rawSource !== null && typeof type === 'string') {
    const entry = (READERS as Record<string, (typeof READERS)[SourceType]>)[type];
    if (!entry) {
      problems.push(`source.type: expected one of ${Object.keys(READERS).map((t) => `"${t}"`).join(', ')}, got "${type}"`);
    } else {
      // allowEmpty belongs to every source (checked by pipelineShape): the reader's own schema sees the rest.
      const { allowEmpty: _allowEmpty, ...readerPart } = rawSource as Record<string, unknown>;
      const parsed = (entry.schema as z.ZodType).safeParse(readerPart);
      if (parsed.success) source = parsed.data as SourceConfig;
      else problems.push(...describeIssues(parsed.error.issues, ['source'], sourceKeyText(rawSource as Record<string, unknown>)));
    }
  }
  if (problems.length > 0 || !top.success || !source) {
    throw new TiError('TI_CONFIG', `${file}\n  ${[...new Set(problems)].join('\n  ')}`, { problems });
  }
  const abs = path.resolve(file);
  const baseDir = path.dirname(abs);
  const d = top.data;
  return {
    file: abs,
    name: d.name ?? defaultPipelineName(abs),
    baseDir,
    ...(d.description !== undefined ? { description: d.description } : {}),
    source: d.source.allowEmpty !== undefined ? { ...source, allowEmpty: d.source.allowEmpty } : source,
    target: d.target,
    reconcile: d.reconcile,
    statePath: path.resolve(baseDir, d.state.path),
    state: { leaseMs: d.state.leaseMs, lockWaitMs: d.state.lockWaitMs, compactAtBytes: d.state.compactAtBytes },
  };
}

/**
 * The state directory, one rule for every command: --state DIR, else TRAFFIC_IMPORT_STATE, else the pipeline's
 * `state.path` (relative to the pipeline file; default ./state/ beside it); with no pipeline (`runs` alone),
 * ./state in the working directory. Flags win over the environment, the environment over the file (12-factor).
 */
export function stateDirOf(opts: { flag?: string | undefined; env: NodeJS.ProcessEnv; pipeline?: Pipeline | undefined }): string {
  if (opts.flag) return path.resolve(opts.flag);
  if (opts.env.TRAFFIC_IMPORT_STATE) return path.resolve(opts.env.TRAFFIC_IMPORT_STATE);
  if (opts.pipeline) return opts.pipeline.statePath;
  return path.resolve('state');
}

export function loadPipeline(file: string): Pipeline {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TiError('TI_CONFIG_READ', `${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new TiError('TI_CONFIG', `${file}: not valid JSON (${(err as Error).message})`);
  }
  return parsePipeline(raw, file);
}

export { SECRET_ENV } from './secrets.js';

/** Plesk credentials from the environment, or undefined when none are set. */
export function pleskAuthFromEnv(env: NodeJS.ProcessEnv): PleskAuth | undefined {
  const key = secretFromEnv(env, 'PLESK_SECRET_KEY');
  if (key) return { secretKey: key };
  const login = secretFromEnv(env, 'PLESK_LOGIN');
  const password = secretFromEnv(env, 'PLESK_PASSWORD');
  if (login && password) return { login, password };
  if (login || password) {
    throw new TiError('TI_SECRET_MISSING', `PLESK_LOGIN and PLESK_PASSWORD go together; only ${login ? 'PLESK_LOGIN' : 'PLESK_PASSWORD'} is set`);
  }
  return undefined;
}

/**
 * The URLs a run of this pipeline will use, checked before anything logs or sends: none may hold user-info
 * (issue 9 §2). Pipeline keys are checked when the file is parsed; this covers the environment (PLESK_URL, and
 * WHM_URL / OPENSRS_URL when the source uses them). Throws TI_CONFIG naming every key at fault, never a value.
 */
export function checkUrls(pipeline: Pick<Pipeline, 'source'>, env: NodeJS.ProcessEnv): void {
  const keys: [string, string][] = [['PLESK_URL', PLESK_CREDENTIALS]];
  const src = pipeline.source as { type: string; from?: string };
  if (src.type === 'cpanel' && src.from === 'api') keys.push(['WHM_URL', 'WHM_USER + WHM_API_TOKEN']);
  if (src.type === 'opensrs') keys.push(['OPENSRS_URL', 'OPENSRS_USER + OPENSRS_PASSWORD or OPENSRS_TOKEN']);
  const problems = keys.filter(([k]) => env[k] && hasUserinfo(env[k]!)).map(([k, c]) => userinfoProblem(k, c));
  if (problems.length > 0) throw new TiError('TI_CONFIG', problems.join('; '), { problems });
}

/** The panel URL: PLESK_URL wins over target.url. */
export function pleskUrl(target: TargetConfig, env: NodeJS.ProcessEnv): string | undefined {
  if (env.PLESK_URL && hasUserinfo(env.PLESK_URL)) throw new TiError('TI_CONFIG', userinfoProblem('PLESK_URL', PLESK_CREDENTIALS));
  return env.PLESK_URL || target.url;
}
