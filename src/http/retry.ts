// Retries, written once for every client: exponential backoff with jitter, Retry-After honoured up to the cap,
// transient failures only (failures.ts). A client adds its own rule on top (the Plesk transport: a packet that
// may have been delivered is not resent unless the panel replaces values).
//
// Why not undici's RetryAgent: after a failure mid-body it resumes with a Range request, which neither agent.php
// nor the WHM and OpenSRS JSON APIs support, and it cannot express "stop once a non-idempotent request may have
// been delivered". So each attempt here is one whole request (body read to the end) through an undici Agent.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Failure } from './failures.js';
import type { RetryPolicy } from './settings.js';

/**
 * Delay before attempt `attempt + 1`: exponential from minDelayMs, capped at maxDelayMs, with "equal jitter"
 * (half fixed, half random) so parallel requests do not retry in lockstep; a Retry-After is honoured up to the cap.
 */
export function backoffDelay(attempt: number, retry: Pick<RetryPolicy, 'minDelayMs' | 'maxDelayMs'>, random: () => number, retryAfterMs?: number): number {
  const exp = Math.min(retry.maxDelayMs, retry.minDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  const wanted = retryAfterMs !== undefined ? Math.max(jittered, retryAfterMs) : jittered;
  return Math.round(Math.min(wanted, retry.maxDelayMs));
}

export interface RetryEvent<F extends Failure = Failure> {
  /** The attempt that failed (1-based). */
  attempt: number;
  failure: F;
  delayMs: number;
}

export interface RetryLoopOptions<F extends Failure> {
  retry: RetryPolicy;
  random?: () => number;
  /** Besides `failure.retryable`: may this failure be retried? (The Plesk rule on delivered packets.) */
  mayRetry?: (failure: F, attempt: number) => boolean;
  /** Called before each wait; logs and run events hang here. */
  onRetry?: (e: RetryEvent<F>) => void;
  /** Stops waiting (and retrying) when aborted. */
  signal?: AbortSignal;
}

export type LoopResult<T, F extends Failure> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; failure: F; attempts: number };

/** Runs `attempt` until it succeeds, fails for good, or the policy's attempts are spent. Never throws for a failure. */
export async function retryLoop<T, F extends Failure>(
  attempt: (n: number) => Promise<{ ok: true; value: T } | { ok: false; failure: F }>,
  opts: RetryLoopOptions<F>,
): Promise<LoopResult<T, F>> {
  const max = Math.max(1, opts.retry.attempts);
  const random = opts.random ?? Math.random;
  for (let n = 1; ; n++) {
    const r = await attempt(n);
    if (r.ok) return { ok: true, value: r.value, attempts: n };
    const f = r.failure;
    const again = f.retryable && n < max && (opts.mayRetry?.(f, n) ?? true) && !opts.signal?.aborted;
    if (!again) return { ok: false, failure: f, attempts: n };
    const delayMs = backoffDelay(n, opts.retry, random, f.retryAfterMs);
    opts.onRetry?.({ attempt: n, failure: f, delayMs });
    try {
      await sleep(delayMs, undefined, opts.signal ? { signal: opts.signal } : {});
    } catch {
      return { ok: false, failure: f, attempts: n };
    }
  }
}
