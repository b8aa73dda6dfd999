// The journal file: one JSON record per line, appended and fsynced. This module knows the record shapes,
// how to read lines back with their byte offsets (to cut a torn tail), and how to fold records into state.
// Why a journal rather than SQLite: see the comment at the top of src/ledger/index.ts.

import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TiError } from '../errors.js';
import { METRICS, XS_INT_MAX, XS_LONG_MAX, type Mail, type Metric, type Operator } from '../model.js';
import { isValidDate } from '../dates.js';

/**
 * Format version written in the header line; a journal with a higher version is refused (TI_STATE).
 * 1: one journal per pipeline file (header `pipeline`); 2: one per panel (header `panel`), runs name their pipeline.
 */
export const JOURNAL_VERSION = 2;

/** The four mail counters of one node, as Plesk holds them before / after the packet. */
/** Kept as a name for the ledger's before/after counters: the same type as the model's Mail. */
export type MailCounters = Mail;

/**
 * A write-ahead intent: "this packet is about to set node (operator, domId, date) from `before` to `after`,
 * as part of additive slice `slice`". Written (and fsynced) before the packet is sent; closed by commit
 * (Plesk said ok) or abort (Plesk said error, or certainly not delivered). An intent still open on the next
 * start was written by a killed run: what Plesk holds then (== before or == after) tells which way it went.
 */
export interface Intent {
  /** Additive slice name (reconcile.slice or the input's sha256). Any string, '' included. */
  slice: string;
  operator: Operator;
  domId: number;
  /** Day `YYYY-MM-DD`. */
  date: string;
  before: MailCounters;
  after: MailCounters;
}

/** An intent read back from the journal: also says which run wrote it, and when. */
export interface OpenIntent extends Intent {
  /** Run that wrote it (absent when it was written outside a run). */
  runId?: string;
  writtenAt: string;
}

/** The identity of a node within a slice: what commit / abort / isApplied look at. An Intent is one. */
export type NodeRef = Pick<Intent, 'slice' | 'operator' | 'domId' | 'date'>;

export type RunStatus = 'running' | 'ok' | 'partial' | 'failed' | 'interrupted';

/** One run as `traffic-import runs` shows it. */
export interface RunInfo {
  /** `YYYYMMDDTHHmmssZ-xxxxxx` (UTC start time + random): sorts by time, unique across hosts. */
  id: string;
  /** The pipeline's name (journals of version 1: its file path). */
  pipeline: string;
  /** Absolute path of the pipeline file, when recorded. */
  pipelineFile?: string;
  /** ISO instant (UTC). */
  startedAt: string;
  finishedAt?: string;
  window: { from?: string; to?: string };
  mode: string;
  dryRun: boolean;
  /** 'running' as recorded becomes 'interrupted' when its process is gone (see Ledger.runs). */
  status: RunStatus;
  /** Whatever the caller passed to finishRun; bigints come back as decimal strings. */
  counts?: Record<string, unknown>;
  pid: number;
  /** Host name of the process that ran it. */
  host: string;
}

// ── record shapes (one per line; `t` first so a reader can pick lines by prefix without parsing) ──

const decimal = z.string().regex(/^\d{1,19}$/, 'expected a decimal byte count');
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
const operator = z.enum(['webspace', 'site']);
const domId = z.int().min(1).max(XS_INT_MAX);
const countersRec = z.object({ smtp_in: decimal, smtp_out: decimal, pop3_imap_in: decimal, pop3_imap_out: decimal });
const intentRec = z.object({ slice: z.string(), operator, domId, date: day, before: countersRec, after: countersRec });
/** [slice, operator, domId, date] */
const nodeRec = z.tuple([z.string(), operator, domId, day]);

const headerRec = z.object({
  t: z.literal('header'),
  v: z.int().min(1),
  /** v2: the panel (canonical URL) whose applied slices this journal holds. */
  panel: z.string().optional(),
  ledgerId: z.string().optional(),
  /** v1: the pipeline file the journal belonged to. */
  pipeline: z.string().optional(),
  pipelineId: z.string().optional(),
  createdAt: z.string(),
});
const runRec = z.object({
  t: z.literal('run'),
  id: z.string().min(1),
  /** The pipeline's name (v1: its file path). */
  pipeline: z.string(),
  /** Absolute path of the pipeline file (v2). */
  pipelineFile: z.string().optional(),
  startedAt: z.string(),
  window: z.object({ from: z.string().optional(), to: z.string().optional() }),
  mode: z.string(),
  dryRun: z.boolean(),
  pid: z.int(),
  host: z.string(),
  /** Start time of the process (Linux /proc/<pid>/stat field 22): tells a reused pid from the run's own. */
  procStart: z.string().optional(),
  /** Token of the pipeline lock the run was started under: the run is active only while that lock is held. */
  lock: z.string().optional(),
});
const finishRec = z.object({
  t: z.literal('finish'),
  id: z.string().min(1),
  status: z.enum(['ok', 'partial', 'failed', 'interrupted']),
  finishedAt: z.string().optional(),
  counts: z.record(z.string(), z.unknown()).optional(),
  /** Set when a later run found this one dead and closed it as interrupted. */
  detectedAt: z.string().optional(),
});
const intentsRec = z.object({ t: z.literal('intent'), run: z.string().optional(), at: z.string(), intents: z.array(intentRec) });
const commitRec = z.object({ t: z.literal('commit'), at: z.string(), nodes: z.array(nodeRec) });
const abortRec = z.object({ t: z.literal('abort'), at: z.string(), nodes: z.array(nodeRec) });

const recordSchema = z.discriminatedUnion('t', [headerRec, runRec, finishRec, intentsRec, commitRec, abortRec]);
export type JournalRecord = z.output<typeof recordSchema>;
export type HeaderRecord = z.output<typeof headerRec>;
export type RunRecord = z.output<typeof runRec>;
export type FinishRecord = z.output<typeof finishRec>;
export type IntentRecord = z.output<typeof intentRec>;

/** A run as replayed: the start record plus what its finish record said. */
export interface RunState extends RunRecord {
  status: RunStatus;
  finishedAt?: string;
  counts?: Record<string, unknown>;
}

// ── keys ──

/**
 * In-memory key of a node within a slice. operator, domId and date never contain '|', and the slice goes
 * last, so the key is unambiguous whatever the slice holds.
 */
export function nodeKey(slice: string, op: Operator, id: number, date: string): string {
  return `${op}|${id}|${date}|${slice}`;
}

export function parseNodeKey(key: string): [string, Operator, number, string] {
  const a = key.indexOf('|');
  const b = key.indexOf('|', a + 1);
  const c = key.indexOf('|', b + 1);
  return [key.slice(c + 1), key.slice(0, a) as Operator, Number(key.slice(a + 1, b)), key.slice(b + 1, c)];
}

// ── conversions with checks (the write side: a bad value is a programming error, not bad input) ──

function bad(message: string): TiError {
  return new TiError('TI_INTERNAL', `ledger: ${message}`);
}

function checkNode(n: NodeRef): void {
  if (typeof n.slice !== 'string') throw bad(`slice must be a string, got ${typeof n.slice}`);
  if (n.operator !== 'webspace' && n.operator !== 'site') throw bad(`operator must be webspace or site, got ${String(n.operator)}`);
  if (!Number.isInteger(n.domId) || n.domId < 1 || n.domId > XS_INT_MAX) throw bad(`dom_id must be a positive xs:int, got ${String(n.domId)}`);
  if (typeof n.date !== 'string' || !isValidDate(n.date)) throw bad(`date must be YYYY-MM-DD, got ${String(n.date)}`);
}

function countersToRec(c: MailCounters, what: string): z.output<typeof countersRec> {
  const out = {} as Record<Metric, string>;
  for (const m of METRICS) {
    const v = c?.[m];
    if (typeof v !== 'bigint' || v < 0n || v > XS_LONG_MAX) throw bad(`${what}.${m} must be a bigint in 0..xs:long, got ${String(v)}`);
    out[m] = v.toString();
  }
  return out;
}

function countersFromRec(c: z.output<typeof countersRec>): MailCounters {
  return { smtp_in: BigInt(c.smtp_in), smtp_out: BigInt(c.smtp_out), pop3_imap_in: BigInt(c.pop3_imap_in), pop3_imap_out: BigInt(c.pop3_imap_out) };
}

export function intentToRec(i: Intent): IntentRecord {
  checkNode(i);
  return { slice: i.slice, operator: i.operator, domId: i.domId, date: i.date, before: countersToRec(i.before, 'before'), after: countersToRec(i.after, 'after') };
}

export function nodeToRec(n: NodeRef): [string, Operator, number, string] {
  checkNode(n);
  return [n.slice, n.operator, n.domId, n.date];
}

/** JSON with bigints as decimal strings (run counts may carry byte totals). */
export function toJsonLine(rec: object): string {
  return `${JSON.stringify(rec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
}

// ── reading lines ──

export interface Line {
  /** 1-based line number. */
  no: number;
  text: string;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** Bytes including the newline. */
  bytes: number;
  /** False for a final line without '\n' (possibly torn). */
  terminated: boolean;
}

/**
 * Lines of a file with exact byte offsets, read in chunks (memory bounded by the longest line, not the
 * file). readline is async-only and does not give offsets, which replay needs to cut a torn tail.
 */
export function* readLines(fd: number, start = 0, chunkSize = 1 << 20): Generator<Line> {
  const chunk = Buffer.allocUnsafe(chunkSize);
  let pending: Buffer = Buffer.alloc(0);
  let base = start; // file offset of pending[0]
  let pos = start;
  let no = 0;
  for (;;) {
    const n = fs.readSync(fd, chunk, 0, chunkSize, pos);
    if (n === 0) break;
    pos += n;
    pending = pending.length > 0 ? Buffer.concat([pending, chunk.subarray(0, n)]) : Buffer.from(chunk.subarray(0, n));
    let from = 0;
    for (let nl = pending.indexOf(10, from); nl !== -1; nl = pending.indexOf(10, from)) {
      yield { no: ++no, text: pending.toString('utf8', from, nl), offset: base + from, bytes: nl - from + 1, terminated: true };
      from = nl + 1;
    }
    pending = pending.subarray(from);
    base += from;
  }
  if (pending.length > 0) yield { no: ++no, text: pending.toString('utf8'), offset: base, bytes: pending.length, terminated: false };
}

/** Lines with a flag telling whether each is the last one (a bad last line is torn, a bad middle one is corrupt). */
function* withLast(lines: Iterable<Line>): Generator<[Line, boolean]> {
  let prev: Line | undefined;
  for (const l of lines) {
    if (prev) yield [prev, false];
    prev = l;
  }
  if (prev) yield [prev, true];
}

/** Parse one journal line; a parse or shape error comes back as a message. */
export function parseRecord(text: string): JournalRecord | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  const r = recordSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    return `not a journal record (${issue.path.join('.') || 't'}: ${issue.message})`;
  }
  return r.data;
}

function corrupt(file: string, line: Line, why: string): TiError {
  return new TiError(
    'TI_STATE',
    `${file} line ${line.no} is corrupt: ${why}. Lines after it were written later, so it is not a torn last write; ` +
      `restore the state directory from a backup, or move this journal aside to start over (applied additive slices would then be sent again)`,
    { file, line: line.no },
  );
}

// ── replay ──

/** Everything the journal says, folded. Memory grows with runs, applied (slice, node) keys and open intents. */
export interface JournalState {
  header?: HeaderRecord;
  /** Journal order. */
  runs: Map<string, RunState>;
  applied: Set<string>;
  /** Kept as written (decimal strings): most intents are committed a moment later, so bigints are made only
   * when openIntents() asks. */
  open: Map<string, StoredIntent>;
}

/** An open intent as held in memory. */
export interface StoredIntent {
  rec: IntentRecord;
  runId: string | undefined;
  at: string;
}

export function openIntentOf(s: StoredIntent): OpenIntent {
  const { rec } = s;
  const out: OpenIntent = {
    slice: rec.slice, operator: rec.operator, domId: rec.domId, date: rec.date,
    before: countersFromRec(rec.before), after: countersFromRec(rec.after), writtenAt: s.at,
  };
  if (s.runId !== undefined) out.runId = s.runId;
  return out;
}

export function emptyState(): JournalState {
  return { runs: new Map(), applied: new Set(), open: new Map() };
}

/** Fold one record into the state. */
export function apply(state: JournalState, rec: JournalRecord): void {
  switch (rec.t) {
    case 'header':
      state.header ??= rec;
      break;
    case 'run':
      state.runs.set(rec.id, { ...rec, status: 'running' });
      break;
    case 'finish': {
      const run = state.runs.get(rec.id);
      // A finish whose start fell out in a compaction (or was lost with a racing dry run): nothing to show.
      if (!run) break;
      run.status = rec.status;
      if (rec.finishedAt !== undefined) run.finishedAt = rec.finishedAt;
      if (rec.counts !== undefined) run.counts = rec.counts;
      break;
    }
    case 'intent':
      for (const i of rec.intents) {
        // A newer intent for the same node supersedes an older open one.
        state.open.set(nodeKey(i.slice, i.operator, i.domId, i.date), { rec: i, runId: rec.run, at: rec.at });
      }
      break;
    case 'commit':
      for (const [s, op, id, d] of rec.nodes) {
        const k = nodeKey(s, op, id, d);
        state.open.delete(k);
        state.applied.add(k);
      }
      break;
    case 'abort':
      for (const [s, op, id, d] of rec.nodes) state.open.delete(nodeKey(s, op, id, d));
      break;
  }
}

export interface ReplayResult {
  /** Offset just past the last good line: where the next append lands once a torn tail is cut. */
  goodEnd: number;
  /** Bytes of a torn final line to cut (0 when none). */
  tornBytes: number;
  /** The final line is a complete record that lacks its '\n' (killed between the two): append one. */
  missingNewline: boolean;
  lines: number;
}

/**
 * Replay `fd` from `start` into `state`. A final line that does not parse is a torn write (killed mid-append)
 * and is reported for cutting; a bad line with lines after it throws TI_STATE naming the file and line.
 * Blank lines are skipped.
 */
export function replay(fd: number, file: string, state: JournalState, start = 0): ReplayResult {
  const out: ReplayResult = { goodEnd: start, tornBytes: 0, missingNewline: false, lines: 0 };
  for (const [line, last] of withLast(readLines(fd, start))) {
    out.lines++;
    if (line.text.trim() === '') {
      out.goodEnd = line.offset + line.bytes;
      continue;
    }
    const rec = parseRecord(line.text);
    if (typeof rec === 'string') {
      if (!last) throw corrupt(file, line, rec);
      out.tornBytes = line.bytes;
      break;
    }
    if (rec.t === 'header' && rec.v > JOURNAL_VERSION) {
      throw new TiError('TI_STATE', `${file} was written by a newer traffic-import (journal version ${rec.v}, this one reads ${JOURNAL_VERSION})`, { file });
    }
    apply(state, rec);
    out.goodEnd = line.offset + line.bytes;
    if (!line.terminated) out.missingNewline = true;
  }
  return out;
}

const RUN_PREFIX = '{"t":"run"';
const FINISH_PREFIX = '{"t":"finish"';
const HEADER_PREFIX = '{"t":"header"';

/**
 * Only the header and the runs of a journal, for listing: intent/commit/abort lines are skipped unparsed
 * (they are the bulk of a journal). A corrupt header/run/finish line in the middle still throws TI_STATE.
 */
export function readRunsOnly(file: string): JournalState {
  const state = emptyState();
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new TiError('TI_STATE', `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file }, { cause: err });
  }
  try {
    for (const [line, last] of withLast(readLines(fd))) {
      const t = line.text;
      const wanted = t.startsWith(RUN_PREFIX) || t.startsWith(FINISH_PREFIX) || t.startsWith(HEADER_PREFIX);
      // Lines of other kinds are recognised by their prefix; anything unknown is parsed (and judged) in full.
      if (!wanted && /^\{"t":"(intent|commit|abort)"/.test(t)) continue;
      if (t.trim() === '') continue;
      const rec = parseRecord(t);
      if (typeof rec === 'string') {
        if (last) break;
        throw corrupt(file, line, rec);
      }
      if (rec.t === 'header' || rec.t === 'run' || rec.t === 'finish') apply(state, rec);
    }
  } finally {
    fs.closeSync(fd);
  }
  return state;
}

/** fsync a directory so a new or renamed entry survives a power loss (not supported on Windows: skipped). */
export function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Write all of `data` at the end of an O_APPEND fd (a regular-file write may, rarely, be short). */
export function writeAll(fd: number, data: string): void {
  let buf = Buffer.from(data, 'utf8');
  while (buf.length > 0) {
    const n = fs.writeSync(fd, buf);
    buf = buf.subarray(n);
  }
}

/** Records that rebuild `state` (compaction): header, the newest `keepRuns` runs, applied keys, open intents. */
export function* compactedLines(state: JournalState, header: HeaderRecord, keepRuns: number, now: string): Generator<string> {
  yield toJsonLine(header);
  const runs = [...state.runs.values()];
  for (const r of runs.slice(Math.max(0, runs.length - keepRuns))) {
    const { status, finishedAt, counts, ...start } = r;
    yield toJsonLine(start);
    if (status !== 'running') {
      yield toJsonLine({ t: 'finish', id: r.id, status, ...(finishedAt !== undefined ? { finishedAt } : {}), ...(counts !== undefined ? { counts } : {}) });
    }
  }
  const CHUNK = 5000;
  let nodes: [string, Operator, number, string][] = [];
  for (const k of state.applied) {
    nodes.push(parseNodeKey(k));
    if (nodes.length === CHUNK) {
      yield toJsonLine({ t: 'commit', at: now, nodes });
      nodes = [];
    }
  }
  if (nodes.length > 0) yield toJsonLine({ t: 'commit', at: now, nodes });
  for (const i of state.open.values()) {
    // One line per open intent keeps its run and time; there are few (one packet's worth per killed run).
    yield toJsonLine({ t: 'intent', ...(i.runId !== undefined ? { run: i.runId } : {}), at: i.at, intents: [i.rec] });
  }
}

/** Journal file name for a pipeline id. */
export function journalFile(stateDir: string, pipelineId: string): string {
  return path.join(stateDir, `${pipelineId}.jsonl`);
}
