// Where metrics go: a file for node_exporter's textfile collector, written atomically (a scrape never sees half
// a file), and the Pushgateway, one group per pipeline. Neither changes the run's exit code when it fails: the
// import happened; the failure is logged as an error, and the staleness alert notices the missing metrics.

import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { HttpClient, type HttpSettings } from '../http/index.js';
import { contentType } from './registry.js';

/**
 * Write `text` to `file` atomically: a temp file in the same directory (not ending in .prom, which the textfile
 * collector would read), fsynced, then renamed over the old one.
 */
export function writeMetricsFile(file: string, text: string): void {
  const abs = path.resolve(file);
  mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, abs);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * `<gateway>/metrics/job/<job>/<label>/<value>…`: values that are not plain URL path characters use the
 * Pushgateway's base64url form (`<label>@base64/<value>`).
 */
export function groupingPath(gateway: string, job: string, labels: Record<string, string>): string {
  const seg = (name: string, value: string) =>
    /^[A-Za-z0-9_.-]+$/.test(value) ? `${name}/${value}` : `${name}@base64/${Buffer.from(value).toString('base64url') || '='}`;
  const parts = [seg('job', job), ...Object.entries(labels).map(([k, v]) => seg(k, v))];
  return `${gateway.replace(/\/+$/, '')}/metrics/${parts.join('/')}`;
}

/**
 * The Pushgateway client: short timeouts and one retry, so a push never holds a job up for long; after a SIGTERM
 * the push must fit, with --grace, inside the pod's termination grace period (worst case about 15 s).
 */
const PUSH_HTTP: HttpSettings = {
  timeouts: { connectMs: 2_000, headersMs: 5_000, bodyMs: 5_000 },
  retry: { attempts: 2, minDelayMs: 250, maxDelayMs: 1_000 },
  insecureTls: false,
};

export interface Pusher {
  /** PUT: replaces the pipeline's whole group, so series of an earlier run never linger. */
  push(job: string, labels: Record<string, string>, text: string): Promise<boolean>;
  close(): Promise<void>;
}

export function createPusher(gateway: string, log: Logger): Pusher {
  const http = new HttpClient({ name: 'pushgateway', settings: PUSH_HTTP, connections: 1, log });
  return {
    async push(job, labels, text) {
      const url = groupingPath(gateway, job, labels);
      try {
        const res = await http.request(url, { method: 'PUT', headers: { 'content-type': await contentType() }, body: text, what: `push ${Object.values(labels).join(',')}` });
        if (res.statusCode >= 200 && res.statusCode < 300) return true;
        log.error({ url, status: res.statusCode, body: res.body.slice(0, 300) }, 'the Pushgateway refused the metrics');
      } catch (err) {
        log.error({ url, error: (err as Error).message }, 'the Pushgateway cannot be reached: metrics not pushed');
      }
      return false;
    },
    close: () => http.close(),
  };
}
