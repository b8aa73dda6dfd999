// `traffic-import usage PIPELINE`: the command around collectUsage — the pipeline's target through the one shared
// client construction (createPleskClient), scope, month, format, output file and exit code.

import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Pipeline } from '../config.js';
import { today } from '../dates.js';
import { EXIT, TiError, errorMessage, type ExitCode } from '../errors.js';
import { canonicalDomain } from '../model.js';
import { createPleskClient } from '../plesk/create.js';
import { render, summaryLine, type UsageFormat } from './format.js';
import { collectUsage, monthRange, type UsageApi } from './usage.js';

export { collectUsage, type UsageApi, type UsageReport, type UsageRow, type UsageStatus } from './usage.js';
export { render, toCsv, toJson, toTable, type UsageFormat } from './format.js';

export interface UsageCommandOptions {
  pipeline: Pipeline;
  env: NodeJS.ProcessEnv;
  log: Logger;
  month?: string;
  format?: UsageFormat;
  out?: string;
  overOnly: boolean;
  failOnOver: boolean;
  /** --domains: a file of names (one per line, `#` comments) or a comma-separated list. */
  domains?: string;
  /** Where results go when there is no --out (stdout), and whether it is a terminal. */
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  /** For tests: a client instead of the pipeline's. */
  api?: UsageApi & { close(): Promise<void> };
}

/** --domains FILE|LIST: an existing file is read (names separated by newlines, commas or blanks; `#` comments). */
export function parseDomains(value: string, cwd = process.cwd()): string[] {
  let text = value;
  const file = path.resolve(cwd, value);
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch {
    // not a file: a list
  }
  if (isFile) {
    try {
      text = readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.replace(/#.*/, '')).join('\n');
    } catch (err) {
      throw new TiError('TI_USAGE', `--domains ${value}: ${errorMessage(err)}`);
    }
  }
  const names = [...new Set(text.split(/[\s,]+/).map((n) => canonicalDomain(n)).filter((n) => n !== ''))];
  if (names.length === 0) throw new TiError('TI_USAGE', `--domains ${value} names no domain`);
  return names;
}

function formatFor(opts: UsageCommandOptions): UsageFormat {
  if (opts.format) return opts.format;
  if (opts.out) return opts.out.toLowerCase().endsWith('.json') ? 'json' : 'csv';
  return opts.stdout.isTTY ? 'table' : 'csv';
}

/** Runs the command; returns the exit code (1 only with --fail-on-over and a subscription over its hard limit). */
export async function runUsage(opts: UsageCommandOptions): Promise<ExitCode> {
  const month = opts.month ?? today(opts.pipeline.target.timezone).slice(0, 7);
  monthRange(month); // refuses a malformed --month before anything is asked
  const domains = opts.domains === undefined ? undefined : parseDomains(opts.domains);
  const format = formatFor(opts);
  const api = opts.api ?? (await createPleskClient(opts.pipeline, opts.env, opts.log, { required: true }))!;
  let report;
  try {
    report = await collectUsage({ api, month, log: opts.log, ...(domains ? { domains } : {}) });
  } finally {
    await api.close();
  }
  if (report.notFound.length > 0) {
    opts.log.warn({ names: report.notFound }, 'usage: names not found in Plesk');
    opts.stderr.write(`traffic-import: not found in Plesk (neither a subscription nor a site): ${report.notFound.join(', ')}\n`);
  }
  const rows = opts.overOnly ? report.rows.filter((r) => r.status === 'over') : report.rows;
  const text = render(format, report, rows);
  if (opts.out) {
    // Written whole or not at all: a scheduler that reads the file never sees half of it.
    const tmp = `${opts.out}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, opts.out);
  } else {
    opts.stdout.write(text);
  }
  if (opts.out || format !== 'table') opts.stderr.write(`usage ${report.month}: ${summaryLine(report, report.rows)}\n`);
  const over = report.rows.some((r) => r.status === 'over');
  return opts.failOnOver && over ? EXIT.PARTIAL : EXIT.OK;
}
