#!/usr/bin/env node
// traffic-import — command line. Flags and exit codes are a contract operators script against.

import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { checkUrls, loadPipeline, pleskUrl, stateDirOf, type Pipeline } from './config.js';
import { hasUserinfo, printableUrl } from './http/failures.js';
import { isValidDate } from './dates.js';
import { ERRORS, EXIT, TiError, errorMessage, type ExitCode } from './errors.js';
import { runPipeline } from './flow.js';
import { LOG_LEVELS, createLogger, type Logger } from './log.js';
import { envForPipeline } from './secrets.js';
import { summaryText, type RunReport } from './run/report.js';
import { RunEvents } from './run/events.js';
import { listRunsInDir, pipelineIdOf } from './ledger/index.js';
import { RunMetrics, createPusher, exposition, writeMetricsFile, type Pusher } from './metrics/index.js';
import { startProgress, subscribeProgress } from './progress.js';
import { Shutdown, exitOnSignal } from './signals.js';
import { createReader } from './readers/index.js';
import { parseShard, perPipelinePath, pipelineFiles, pipelineName, shardFromEnv, shareOf } from './pipeline-set.js';

const HELP = `traffic-import — put mail traffic measured outside Plesk into Plesk (XML API set_traffic)

Usage:
  traffic-import run PIPELINE|DIR... [--dry-run] [--out DIR] [--report FILE] [--rejects FILE]
                              [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--include-open-days]
                              [--state DIR] [--shard I/N] [--metrics-file FILE] [--pushgateway URL]
                              [--progress-interval SECONDS] [--grace SECONDS] [--workers N]
  traffic-import validate PIPELINE|DIR...
  traffic-import runs [PIPELINE|DIR...] [--state DIR] [--limit N] [--json]
  traffic-import emulator [--fixture FILE] [--host 127.0.0.1] [--port 8443] [--tls-cert PEM --tls-key PEM]
                          [--semantics replace|add] [--dump FILE] [--latency-ms N]
  traffic-import demo [--keep-running]
  traffic-import probe PIPELINE --dom-id N --date YYYY-MM-DD   (live check: does set_traffic replace or add?)
  traffic-import usage PIPELINE [--month YYYY-MM] [--format table|csv|json] [--out FILE] [--over-only]
                                [--fail-on-over] [--domains FILE|LIST]   (who is near or over the traffic limit)

Options:
  --dry-run         change nothing anywhere; print recorded → new per node
  --out DIR         with --dry-run: write each packet as DIR/packet-NNNN.xml and DIR/diff.jsonl
  --report FILE     write the JSON run report (several pipelines: one file each, report.<pipeline>.json)
  --rejects FILE    write rejected rows (CSV, or JSONL when FILE ends in .jsonl)
  --from, --to      inclusive days to import; records outside are skipped and counted
  --include-open-days  import today (and later) too; by default only days that are over in target.timezone
  --state DIR       ledgers, locks and run records (env TRAFFIC_IMPORT_STATE; default: the pipeline's
                    state.path, ./state/ beside the pipeline file)
  --shard I/N       run only pipelines k with k mod N = I (0-based; default from JOB_COMPLETION_INDEX
                    and TRAFFIC_IMPORT_SHARDS)
  --metrics-file FILE  Prometheus text format, written atomically at the end (node_exporter textfile)
  --pushgateway URL push the same to a Pushgateway, one group per pipeline (env PUSHGATEWAY_URL)
  --progress-interval S  off a terminal, a progress log line every S seconds (default 10; 0 = none)
  --grace S         after SIGTERM/SIGINT, seconds packets in flight get to finish (default 20)
  --workers N       threads that read one large CSV file (default: the available cores for a file of
                    16 MiB or more, else 1; 1 = read in the main thread)
  --log-level LEVEL pino level (default info; env LOG_LEVEL)
  --json-logs       JSON logs even on a TTY

A DIR stands for its *.json files in name order.

Environment: PLESK_URL (overrides target.url), PLESK_LOGIN + PLESK_PASSWORD or PLESK_SECRET_KEY, WHM_URL,
WHM_USER, WHM_API_TOKEN, OPENSRS_URL, OPENSRS_USER + OPENSRS_PASSWORD or OPENSRS_TOKEN (every credential
also as NAME_FILE naming a file), TRAFFIC_IMPORT_STATE, PUSHGATEWAY_URL, JOB_COMPLETION_INDEX +
TRAFFIC_IMPORT_SHARDS, LOG_LEVEL, NO_COLOR.

Exit codes: 0 all good · 1 finished with rejected, unresolved or failed records, or an empty file source ·
2 usage, configuration or fatal error · 130/143 stopped by SIGINT/SIGTERM (report written; re-run to finish).`;

const COMMON = {
  'log-level': { type: 'string' },
  'json-logs': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

function usage(message: string): never {
  throw new TiError('TI_USAGE', `${message} (see traffic-import --help)`);
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    usage(errorMessage(err));
  }
}

function logger(values: { 'log-level'?: string | boolean | undefined; 'json-logs'?: string | boolean | undefined }): Logger {
  const level = values['log-level'];
  if (typeof level === 'string' && !LOG_LEVELS.includes(level)) usage(`--log-level expects one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return createLogger({
    ...(typeof values['log-level'] === 'string' ? { level: values['log-level'] } : {}),
    json: values['json-logs'] === true,
  });
}

function dateFlag(name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !isValidDate(v)) usage(`--${name} expects a calendar date YYYY-MM-DD, got "${String(v)}"`);
  return v;
}

/** `10`, `10s`, `500ms`, `2m` → milliseconds (a bare number is seconds). */
function durationFlag(name: string, v: string | undefined, defaultMs: number): number {
  if (v === undefined) return defaultMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) usage(`--${name} expects a duration such as 20, 20s, 500ms or 2m, got "${v}"`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

async function cmdRun(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parse(args, {
    'dry-run': { type: 'boolean' },
    out: { type: 'string' },
    report: { type: 'string' },
    rejects: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    state: { type: 'string' },
    shard: { type: 'string' },
    'include-open-days': { type: 'boolean' },
    'progress-interval': { type: 'string' },
    'metrics-file': { type: 'string' },
    pushgateway: { type: 'string' },
    grace: { type: 'string' },
    workers: { type: 'string' },
  });
  if (positionals.length === 0) usage('run takes one or more PIPELINE files or directories');
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 256)) usage('--workers expects a whole number 1..256');
  const from = dateFlag('from', values.from);
  const to = dateFlag('to', values.to);
  if (from && to && from > to) usage(`--from ${from} is after --to ${to}`);
  if (values.out && !values['dry-run']) usage('--out goes with --dry-run');
  const progressMs = durationFlag('progress-interval', values['progress-interval'], 10_000);
  const graceMs = durationFlag('grace', values.grace, 20_000);
  const gateway = values.pushgateway ?? (process.env.PUSHGATEWAY_URL || undefined);
  // A password in this URL would sit in the process list and in every push error logged: refused, never echoed.
  if (gateway !== undefined && hasUserinfo(gateway)) usage('--pushgateway (or PUSHGATEWAY_URL) must not hold credentials (user:password@host): they would show in the process list and in logs');
  if (gateway !== undefined && !/^https?:\/\/[^/]/.test(gateway)) usage(`--pushgateway (or PUSHGATEWAY_URL) expects an http(s) URL, got "${gateway}"`);
  const explicitShard = values.shard !== undefined ? parseShard(values.shard) : undefined;
  const all = pipelineFiles(positionals);
  const shard = explicitShard ?? shardFromEnv(process.env, all.length);
  const files = shareOf(all, shard);
  const log = logger(values);
  if (shard) log.info({ shard: `${shard.index}/${shard.count}`, pipelines: files.map(pipelineName), of: all.length }, 'shard');
  const metrics = new RunMetricsOutput(values['metrics-file'], gateway, log);

  // Every pipeline is validated before the first one runs: a typo in one file must not surface after an hour.
  const pipelines: Pipeline[] = [];
  const invalid: TiError[] = [];
  for (const f of files) {
    try {
      pipelines.push(loadPipeline(f));
    } catch (err) {
      if (!(err instanceof TiError)) throw err;
      invalid.push(err);
      metrics.failedBeforeRun(pipelineName(f));
    }
  }
  if (invalid.length > 0) {
    await metrics.writeFile();
    await metrics.push();
    if (invalid.length === 1) throw invalid[0]!;
    for (const err of invalid) process.stderr.write(`traffic-import: [${err.code}] ${err.message}\n`);
    return EXIT.FATAL;
  }
  const several = pipelines.length > 1;
  // SIGTERM/SIGINT: no new packet, in-flight ones get the grace time, then report, metrics, run record and 143/130.
  const shutdown = new Shutdown(graceMs, log).install();
  let worst: ExitCode = EXIT.OK;
  const outcomes: string[] = [];
  try {
    for (const pipeline of pipelines) {
      if (shutdown.signal) break; // the next pipelines are not started
      const name = pipeline.name;
      pipeline.statePath = stateDirOf({ flag: values.state, env: process.env, pipeline });
      const events = new RunEvents();
      const m = metrics.subscribe(name, events);
      const progress = await startProgress({ pipeline: name, tty: process.stderr.isTTY === true, intervalMs: progressMs, log });
      subscribeProgress(events, progress);
      let report: RunReport;
      try {
        report = await runPipeline({
          pipeline,
          dryRun: values['dry-run'] === true,
          ...(values.out ? { outDir: several ? path.join(values.out, name) : values.out } : {}),
          ...(values.report ? { reportPath: perPipelinePath(values.report, name, several) } : {}),
          ...(values.rejects ? { rejectsPath: perPipelinePath(values.rejects, name, several) } : {}),
          ...(from ? { from } : {}),
          ...(to ? { to } : {}),
          ...(workers !== undefined ? { workers } : {}),
          env: envForPipeline(process.env, name),
          log,
          events,
          includeOpenDays: values['include-open-days'] === true,
          signal: shutdown.stop.signal,
          deadline: shutdown.deadline.signal,
        });
      } finally {
        progress.stop();
      }
      m.finished(report, report.exitCode);
      m.lastSuccessSeconds ??= lastSuccessOf(pipeline);
      await metrics.writeFile(m);
      // The summary ends with the fatal error's coded line when there is one: each error is printed once.
      process.stderr.write(`${summaryText(report)}\n`);
      await metrics.push(m);
      outcomes.push(`${name} ${report.status} (${report.exitCode})`);
      if (report.exitCode > worst) worst = report.exitCode;
    }
  } finally {
    shutdown.uninstall();
    await metrics.close();
  }
  if (several) process.stderr.write(`traffic-import: ${pipelines.length} pipelines: ${outcomes.join(', ')}; exit code ${shutdown.exitCode ?? worst}\n`);
  if (pipelines.length === 0) log.warn({ shard: shard && `${shard.index}/${shard.count}`, of: all.length }, 'this shard has no pipelines');
  return shutdown.exitCode ?? worst;
}

/** When this pipeline last finished with exit 0 or 1, from its run records (undefined when unknown). */
function lastSuccessOf(pipeline: Pipeline): number | undefined {
  try {
    const id = pipelineIdOf(pipeline.file);
    // A run is a pipeline's by name, or (runs recorded by earlier versions) by its file.
    const mine = (r: { pipeline: string; pipelineFile?: string }) => r.pipeline === pipeline.name || pipelineIdOf(r.pipelineFile ?? r.pipeline) === id;
    const done = listRunsInDir(pipeline.statePath)
      .filter((r) => mine(r) && (r.status === 'ok' || r.status === 'partial') && r.finishedAt)
      .map((r) => Date.parse(r.finishedAt!) / 1000);
    return done.length > 0 ? Math.max(...done) : undefined;
  } catch {
    return undefined; // no readable state: the gauge is left out rather than guessed
  }
}

/**
 * --metrics-file and --pushgateway. The file holds every pipeline of this process (label `pipeline`), rewritten
 * atomically after each one, so it is current even if a later one is killed; `{pipeline}` in its path gives each
 * pipeline its own file. The Pushgateway gets one group per pipeline (job="traffic-import", pipeline=<name>).
 */
class RunMetricsOutput {
  readonly #runs: RunMetrics[] = [];
  readonly #pusher: Pusher | undefined;

  constructor(private readonly file: string | undefined, gateway: string | undefined, private readonly log: Logger) {
    this.#pusher = gateway ? createPusher(gateway, log) : undefined;
  }

  subscribe(name: string, events: RunEvents): RunMetrics {
    const m = new RunMetrics(name);
    events.on('request.done', (e) => m.requestDone(e));
    events.on('request.retried', (e) => m.retried(e));
    this.#runs.push(m);
    return m;
  }

  /** A pipeline that could not even be loaded: exit code 2, nothing else known. */
  failedBeforeRun(name: string): void {
    const m = new RunMetrics(name);
    m.exitCode = EXIT.FATAL;
    this.#runs.push(m);
  }

  /** Write the file: every run so far (or, with `{pipeline}` in the path, `latest`'s own file). */
  async writeFile(latest?: RunMetrics): Promise<void> {
    if (this.file === undefined) return;
    const groups = this.file.includes('{pipeline}')
      ? this.#runs.filter((m) => !latest || m === latest).map((m) => [perPipelinePath(this.file!, m.pipeline, true), [m]] as const)
      : [[this.file, this.#runs] as const];
    for (const [file, runs] of groups) {
      try {
        writeMetricsFile(file, await exposition(runs, { pipelineLabel: true }));
      } catch (err) {
        this.log.error({ file, error: errorMessage(err) }, 'the metrics file cannot be written');
      }
    }
  }

  /** Push `latest` (or every run, when none is named) to the Pushgateway. */
  async push(latest?: RunMetrics): Promise<void> {
    if (!this.#pusher) return;
    for (const m of latest ? [latest] : this.#runs) {
      await this.#pusher.push('traffic-import', { pipeline: m.pipeline }, await exposition([m], { pipelineLabel: false }));
    }
  }

  async close(): Promise<void> {
    await this.#pusher?.close();
  }
}

/** The panel URL for a person to read: never with user-info (checked before), never a query string. */
function printablePleskUrl(pipeline: Pipeline, env: NodeJS.ProcessEnv): string {
  const url = pleskUrl(pipeline.target, env);
  return url ? printableUrl(url) : '(no URL: dry-run only)';
}

async function cmdValidate(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parse(args, {});
  if (positionals.length === 0) usage('validate takes one or more PIPELINE files or directories');
  const log = logger(values);
  const files = pipelineFiles(positionals);
  let worst: ExitCode = EXIT.OK;
  for (const file of files) {
    try {
      const pipeline = loadPipeline(file);
      const env = envForPipeline(process.env, pipeline.name);
      checkUrls(pipeline, env);
      const reader = createReader(pipeline.source);
      const ctx = {
        baseDir: pipeline.baseDir, window: {}, env, log,
        reject: () => undefined, unresolved: () => undefined, ignored: () => undefined,
      };
      const what = reader.check ? await reader.check(ctx) : 'source configuration is valid';
      process.stdout.write(`${pipeline.file}: OK\n  source: ${what}\n  target: ${pipeline.target.operator} via ${printablePleskUrl(pipeline, env)}\n  reconcile: ${pipeline.reconcile.mode}, set_traffic ${pipeline.target.setTrafficSemantics}\n  state: ${stateDirOf({ env: process.env, pipeline })}\n`);
    } catch (err) {
      // With several files, every one is checked: one bad file must not hide the next.
      if (!(err instanceof TiError) || files.length === 1) throw err;
      process.stderr.write(`traffic-import: ${file}: [${err.code}] ${err.message}\n`);
      worst = EXIT.FATAL;
    }
  }
  return worst;
}

async function cmdRuns(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parse(args, { state: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } });
  const { listRunsInDir, pipelineIdOf } = await import('./ledger/index.js');
  const limit = values.limit ? Number(values.limit) : 20;
  if (!Number.isInteger(limit) || limit < 1) usage('--limit expects a positive whole number');
  // The same rule as `run`: with PIPELINE arguments, each one's state directory and only its runs.
  const wanted = positionals.length > 0 ? pipelineFiles(positionals).map((f) => loadPipeline(f)) : undefined;
  const dirs = wanted
    ? [...new Set(wanted.map((p) => stateDirOf({ flag: values.state, env: process.env, pipeline: p })))]
    : [stateDirOf({ flag: values.state, env: process.env })];
  // A run is a pipeline's by name (ledger version 2), or by its file (runs of earlier versions recorded the path).
  const names = wanted && new Set(wanted.map((p) => p.name));
  const ids = wanted && new Set(wanted.map((p) => pipelineIdOf(p.file)));
  const runs = dirs
    .flatMap((d) => listRunsInDir(d))
    .filter((r) => !ids || names!.has(r.pipeline) || ids.has(pipelineIdOf(r.pipelineFile ?? r.pipeline)))
    .sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0))
    .slice(0, limit);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
  } else if (runs.length === 0) {
    process.stdout.write(`No runs recorded in ${dirs.join(', ')}.\n`);
  } else {
    for (const r of runs) {
      const c = r.counts as { nodes?: { applied?: number; failed?: number } } | undefined;
      const win = `${r.window.from ?? '…'}..${r.window.to ?? '…'}`;
      process.stdout.write(
        `${r.startedAt}  ${r.status.padEnd(11)} ${r.id}  ${path.basename(r.pipeline)}  window ${win}  mode ${r.mode}` +
          (c?.nodes ? `  applied ${c.nodes.applied ?? 0} failed ${c.nodes.failed ?? 0}` : '') + '\n',
      );
    }
  }
  return EXIT.OK;
}

async function cmdEmulator(args: string[]): Promise<ExitCode> {
  const { values } = parse(args, {
    fixture: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    semantics: { type: 'string' },
    dump: { type: 'string' },
    'latency-ms': { type: 'string' },
  });
  const latencyMs = values['latency-ms'] === undefined ? undefined : Number(values['latency-ms']);
  if (latencyMs !== undefined && (!Number.isInteger(latencyMs) || latencyMs < 0)) usage('--latency-ms expects a whole number of milliseconds');
  const port = values.port ? Number(values.port) : 8443;
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage('--port expects 0..65535');
  if (values.semantics && values.semantics !== 'replace' && values.semantics !== 'add') usage('--semantics is replace or add');
  if (!!values['tls-cert'] !== !!values['tls-key']) usage('--tls-cert and --tls-key go together');
  const { runEmulator } = await import('./stand-ins/plesk/index.js');
  await runEmulator(
    {
      fixture: values.fixture ?? path.join(packageRoot(), 'samples', 'plesk-fixture.json'),
      port,
      host: values.host ?? '127.0.0.1',
      ...(values['tls-cert'] ? { tlsCert: values['tls-cert'], tlsKey: values['tls-key']! } : {}),
      ...(values.semantics ? { semantics: values.semantics as 'replace' | 'add' } : {}),
      ...(values.dump ? { dumpOnExit: values.dump } : {}),
      ...(latencyMs !== undefined ? { faults: { latencyMs } } : {}),
    },
    logger(values),
  );
  return await new Promise<ExitCode>(() => undefined); // runs until a signal; runEmulator exits the process
}

async function cmdDemo(args: string[]): Promise<ExitCode> {
  const { values } = parse(args, { 'keep-running': { type: 'boolean' } });
  const { runDemo } = await import('./demo.js');
  return runDemo({ root: packageRoot(), keepRunning: values['keep-running'] === true, log: logger(values) });
}

async function cmdProbe(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parse(args, { 'dom-id': { type: 'string' }, date: { type: 'string' } });
  if (positionals.length !== 1) usage('probe takes exactly one PIPELINE file');
  const domId = Number(values['dom-id']);
  if (!Number.isInteger(domId) || domId < 1) usage('--dom-id expects a Plesk id');
  const date = dateFlag('date', values.date) ?? usage('--date is required');
  const { runProbe } = await import('./probe.js');
  return runProbe({ pipeline: loadPipeline(positionals[0]!), domId, date, env: process.env, log: logger(values) });
}

async function cmdUsage(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parse(args, {
    month: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' },
    'over-only': { type: 'boolean' }, 'fail-on-over': { type: 'boolean' }, domains: { type: 'string' },
  });
  if (positionals.length !== 1) usage('usage takes exactly one PIPELINE file');
  if (values.format !== undefined && !['table', 'csv', 'json'].includes(values.format)) usage('--format is table, csv or json');
  const { runUsage } = await import('./usage/index.js');
  return runUsage({
    pipeline: loadPipeline(positionals[0]!), env: process.env, log: logger(values),
    ...(values.month !== undefined ? { month: values.month } : {}),
    ...(values.format !== undefined ? { format: values.format as 'table' | 'csv' | 'json' } : {}),
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.domains !== undefined ? { domains: values.domains } : {}),
    overOnly: values['over-only'] === true, failOnOver: values['fail-on-over'] === true,
    stdout: process.stdout, stderr: process.stderr,
  });
}

/** The directory holding package.json (dist/cli.js → ..). */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
}

export async function main(argv: string[]): Promise<ExitCode> {
  const [cmd, ...rest] = argv;
  try {
    // `COMMAND --help` prints the help; it must never run the command (emulator would start a server).
    if (cmd !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
      process.stdout.write(`${HELP}\n`);
      return EXIT.OK;
    }
    // The CLI may be PID 1 (a container without --init): a signal with no handler would be ignored. `run`
    // stops gently (src/signals.ts), the emulator and `demo --keep-running` close their servers; the rest just exit.
    if (cmd !== 'run' && cmd !== 'emulator' && !(cmd === 'demo' && rest.includes('--keep-running'))) exitOnSignal();
    switch (cmd) {
      case 'run': return await cmdRun(rest);
      case 'validate': return await cmdValidate(rest);
      case 'runs': return await cmdRuns(rest);
      case 'emulator': return await cmdEmulator(rest);
      case 'demo': return await cmdDemo(rest);
      case 'probe': return await cmdProbe(rest);
      case 'usage': return await cmdUsage(rest);
      case '--version': case '-v': {
        const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
        process.stdout.write(`${pkg.version}\n`);
        return EXIT.OK;
      }
      case undefined: case 'help': case '--help': case '-h':
        process.stdout.write(`${HELP}\n`);
        return cmd === undefined ? EXIT.FATAL : EXIT.OK;
      default:
        usage(`unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof TiError) {
      process.stderr.write(`traffic-import: [${err.code}] ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`traffic-import: [TI_INTERNAL] ${ERRORS.TI_INTERNAL}: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    return EXIT.FATAL;
  }
}

// Run when executed (bin or `node dist/cli.js`), not when imported by tests.
function invokedDirectly(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Stopped by a signal: requests abandoned after the grace time may still hold sockets; do not wait for them.
      if (code === EXIT.SIGTERM || code === EXIT.SIGINT) process.exit(code);
    },
    (err) => { process.stderr.write(`${String(err)}\n`); process.exitCode = EXIT.FATAL; },
  );
}
