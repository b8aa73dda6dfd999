// Progress of a run, so a long import against a slow panel is never silent: on a TTY a live line on stderr
// (cli-progress) that log lines are written around; off a TTY (a CronJob's log) an info line with the same
// counters every --progress-interval. Fed by the run events (subscribe()); the counters are a plain object.

import type { Logger } from 'pino';
import { setStatusLine } from './log.js';

export interface ProgressCounters {
  pipeline: string;
  /** The stage the run is in (connect, ledger, read, resolve, reconcile, send, dry-run, finish). */
  phase: string;
  /** Rows (or API entries) read from the source. */
  rows: number;
  /** Distinct (target, day) records after normalizing. */
  records: number;
  packetsTotal: number;
  /** Packets answered (applied, failed or read back). */
  packetsSent: number;
  nodesTotal: number;
  nodesSent: number;
  /** ms since the epoch when the first packet went out. */
  sendStartedAt?: number;
}

/** Nodes per second since sending began, and the seconds left at that pace (undefined until it can be told). */
export function pace(c: ProgressCounters, now = Date.now()): { nodesPerSecond: number; etaSeconds: number | undefined } {
  if (c.sendStartedAt === undefined || c.nodesSent === 0) return { nodesPerSecond: 0, etaSeconds: undefined };
  const seconds = Math.max((now - c.sendStartedAt) / 1000, 0.001);
  const nodesPerSecond = c.nodesSent / seconds;
  return { nodesPerSecond, etaSeconds: Math.max(0, (c.nodesTotal - c.nodesSent) / nodesPerSecond) };
}

function etaText(s: number | undefined): string {
  if (s === undefined) return '–';
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

/** The counters as one log line's fields. */
export function progressFields(c: ProgressCounters, now = Date.now()): Record<string, unknown> {
  const { nodesPerSecond, etaSeconds } = pace(c, now);
  return {
    pipeline: c.pipeline, phase: c.phase, rows: c.rows, records: c.records,
    packets: `${c.packetsSent}/${c.packetsTotal}`, nodesPerSecond: Math.round(nodesPerSecond * 10) / 10,
    ...(etaSeconds !== undefined ? { etaSeconds: Math.round(etaSeconds) } : {}),
  };
}

/** The same counters as the live line's text (without the bar). */
export function progressText(c: ProgressCounters, now = Date.now()): string {
  const { nodesPerSecond, etaSeconds } = pace(c, now);
  return `${c.phase.padEnd(9)} rows ${c.rows} · records ${c.records} · packets ${c.packetsSent}/${c.packetsTotal} · ` +
    `${nodesPerSecond.toFixed(1)} nodes/s · ETA ${etaText(etaSeconds)}`;
}

export interface ProgressOptions {
  pipeline: string;
  /** A live line (stderr is a terminal) or periodic log lines. */
  tty: boolean;
  /** Off a TTY: ms between info lines; 0 = none. */
  intervalMs: number;
  log: Logger;
  /** The terminal (default process.stderr). */
  stream?: NodeJS.WriteStream;
}

export interface Progress {
  readonly counters: ProgressCounters;
  /** Counters changed: the live line is redrawn at its own pace (10 per second at most). */
  changed(): void;
  stop(): void;
}

export async function startProgress(opts: ProgressOptions): Promise<Progress> {
  const counters: ProgressCounters = { pipeline: opts.pipeline, phase: 'start', rows: 0, records: 0, packetsTotal: 0, packetsSent: 0, nodesTotal: 0, nodesSent: 0 };
  if (!opts.tty) {
    const timer = opts.intervalMs > 0 ? setInterval(() => opts.log.info(progressFields(counters), 'progress'), opts.intervalMs) : undefined;
    timer?.unref();
    return { counters, changed: () => undefined, stop: () => timer && clearInterval(timer) };
  }
  const stream = opts.stream ?? process.stderr;
  // Loaded only for a terminal: a scheduled job (no TTY) never pays its start-up.
  const { default: cliProgress } = await import('cli-progress');
  // A MultiBar with one bar: its log() writes text above the bar (a SingleBar assumes nothing else writes while it
  // runs, and restores the cursor to where it started when it stops, over whatever was written meanwhile).
  const multibar = new cliProgress.MultiBar({
    stream,
    barsize: 20,
    barCompleteChar: '█',
    barIncompleteChar: '░',
    format: (options, params) =>
      `${opts.pipeline} ${cliProgress.Format.BarFormat(params.progress, options)} ${progressText(counters)}`.slice(0, Math.max(20, params.maxWidth - 1)),
    hideCursor: false,
    clearOnComplete: true,
    forceRedraw: true,
    gracefulExit: false,
    linewrap: false,
  });
  const bar = multibar.create(1, 0);
  // Log lines are written at once (log() buffers until the next frame otherwise, and a line must never wait
  // for a frame that an exit would not draw).
  setStatusLine({
    write: (text) => {
      multibar.log(text.endsWith('\n') ? text : `${text}\n`);
      multibar.update();
    },
  });
  let stopped = false;
  return {
    counters,
    changed: () => {
      bar.setTotal(Math.max(1, counters.packetsTotal));
      bar.update(counters.packetsSent);
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      setStatusLine(undefined);
      multibar.update();
      multibar.stop();
    },
  };
}

/** What subscribe() needs of the run events: `on(name, listener)`. */
export interface ProgressEvents {
  on(name: 'stage.started', fn: (e: { stage: string }) => void): unknown;
  on(name: 'records.read', fn: (e: { count: number }) => void): unknown;
  on(name: 'records.normalized', fn: (e: { count: number }) => void): unknown;
  on(name: 'nodes.planned', fn: (e: { nodes: number; packets: number }) => void): unknown;
  on(name: 'packet.sent', fn: (e: { nodes: number }) => void): unknown;
  on(name: 'packet.answered', fn: (e: { nodes: number }) => void): unknown;
}

/** Feed the progress from the run events. */
export function subscribeProgress(events: ProgressEvents, p: Progress): void {
  const c = p.counters;
  events.on('stage.started', (e) => { c.phase = e.stage; p.changed(); });
  events.on('records.read', (e) => { c.rows += e.count; p.changed(); });
  events.on('records.normalized', (e) => { c.records = e.count; p.changed(); });
  events.on('nodes.planned', (e) => { c.nodesTotal = e.nodes; c.packetsTotal = e.packets; p.changed(); });
  events.on('packet.sent', () => { c.sendStartedAt ??= Date.now(); });
  events.on('packet.answered', (e) => { c.packetsSent++; c.nodesSent += e.nodes; p.changed(); });
}
