// The one way to build a Plesk client from a pipeline: `run`, `probe` and `usage` all come through here, so the
// URL, credentials, CA, TLS opt-out, rate limit and retry settings are read the same way everywhere.

import type { Logger } from 'pino';
import { pleskAuthFromEnv, pleskUrl, type Pipeline } from '../config.js';
import { TiError } from '../errors.js';
import { httpSettingsOf, type HttpObserver } from '../http/index.js';
import { PleskClient } from './client.js';

export interface CreatePleskClientOptions {
  /** Throw when URL or credentials are missing (a live run); otherwise undefined is returned (a dry-run). */
  required: boolean;
  /** Packets in flight; default target.concurrency (the probe uses 1). */
  concurrency?: number;
  observer?: HttpObserver;
}

/** A client for the pipeline's target, or undefined when it has no URL or credentials and none is required. */
export async function createPleskClient(
  pipeline: Pick<Pipeline, 'target' | 'baseDir'>,
  env: NodeJS.ProcessEnv,
  log: Logger,
  opts: CreatePleskClientOptions,
): Promise<PleskClient | undefined> {
  const t = pipeline.target;
  const url = pleskUrl(t, env);
  const auth = pleskAuthFromEnv(env);
  if (opts.required && !url) throw new TiError('TI_CONFIG', 'target.url is not set and PLESK_URL is empty');
  if (opts.required && !auth) {
    throw new TiError('TI_SECRET_MISSING', 'set PLESK_LOGIN and PLESK_PASSWORD, or PLESK_SECRET_KEY (or their *_FILE forms)');
  }
  if (!url || !auth) return undefined;
  const http = await httpSettingsOf(t, pipeline.baseDir);
  return new PleskClient(
    {
      url,
      auth,
      packetVersion: t.packetVersion,
      concurrency: opts.concurrency ?? t.concurrency,
      ...(t.packetsPerSecond ? { packetsPerSecond: t.packetsPerSecond } : {}),
      timeouts: http.timeouts,
      retry: http.retry,
      ...(http.ca !== undefined ? { ca: http.ca } : {}),
      insecureTls: http.insecureTls,
      ...(opts.observer ? { observer: opts.observer } : {}),
    },
    log,
  );
}
