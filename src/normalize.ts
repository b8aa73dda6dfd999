// Normalize: one DayRecord per (target, day), the bigint sum of every source record with that key.
// Memory grows with distinct keys, never with rows: per key only the sums, a row count and the line span
// are kept (docs/development.md, "Streams stay streams").
//
// Speed: add() runs once per input row. Measured on the ingest bench (2,000 domains × 30 days), summing into
// fresh bigints promoted four heap numbers per row, and a Map per target plus an object per key cost a cache
// miss each. So a key's whole state is one 64-byte block of a Float64Array, found through an open-addressing
// table of (target index, day index); sums are exact integers in doubles up to 2^53 − 1, and a key whose sum
// passes that moves to bigint (`bigSums`).
//
// Held back (issue 9 §1): a (target, day) that lost any contribution to a metric to a rejection never gets a
// partial or made-up value for that metric. Readers say which key and metrics a rejected value belonged to
// (Rejection.affects, or SourceRecord.held when they sum before emitting); the normalizer's own rejections (a
// sum past xs:long) hold the row's metrics too. A held metric is left out of the record (missing: reconcile keeps
// what Plesk recorded) and listed by heldBack() with the first cause.
//
// Readers that feed the Normalizer directly (the CSV reader) skip the SourceRecord: they resolve a target and a day
// to an index once per distinct cell and add rows as numbers (`addRow`). Partial Normalizers (one per worker thread)
// are merged exactly with `exportState`/`merge`.

import type { RejectCode } from './errors.js';
import {
  XS_LONG_MAX, targetLabel,
  type DayRecord, type HeldKey, type HoldCause, type Metric, type Metrics, type SourceRecord, type Target,
} from './model.js';
import type { Rejection } from './model.js';

export interface NormalizerOptions {
  /** Inclusive run window (`YYYY-MM-DD`); records outside it are skipped and counted, not rejected. */
  window?: { from?: string; to?: string };
  reject: (r: Rejection) => void;
}

/** An exact amount of bytes: a number up to 2^53 − 1, a bigint beyond; NO_VALUE (−1) = the metric is missing. */
export type Amount = number | bigint;
export const NO_VALUE = -1;

/** What a Normalizer holds, as plain data (structured-cloneable): what a worker thread hands back to be merged. */
export interface NormalizerState {
  targets: Target[];
  targetKeys: string[];
  days: string[];
  files: string[];
  keys: number;
  /** The first `keys` blocks (see STRIDE). */
  blocks: Float64Array;
  bigSums: [number, (bigint | undefined)[]][];
  holds: [number, KeyHolds][];
  rowsAdded: number;
  skippedOutsideWindow: number;
}

const SAFE = Number.MAX_SAFE_INTEGER;
const SAFE_BIG = BigInt(SAFE);
/** Block layout, one per key: [key, smtp_in, smtp_out, pop3_imap_in, pop3_imap_out, rows, firstLine, lastLine]. */
const STRIDE = 8;
const ROWS = 5;
const FIRST = 6;
const LAST = 7;
/**
 * A sum slot holding MISSING has had no value yet: missing stays missing, it does not become 0. Equal to NO_VALUE,
 * so a block's sums add like a row's values (`merge`).
 */
const MISSING = NO_VALUE;
/** The dense (target, day) index holds at most this many days, and this many cells (32 MiB). */
const DENSE_MAX_DAYS = 64;
const DENSE_MAX_CELLS = 8 * 1024 * 1024;
/** key = target index × DAY_SLOTS + day index: exact in a double (targets < 2^31, days < 2^22 ≈ 11,000 years). */
const DAY_SLOTS = 2 ** 22;
/** Metric order in a block (METRICS order). */
const ORDER: readonly Metric[] = ['smtp_in', 'smtp_out', 'pop3_imap_in', 'pop3_imap_out'];

function hash(targetIndex: number, dayIndex: number): number {
  const h = Math.imul(targetIndex, 0x9e3779b1) + Math.imul(dayIndex + 1, 0x85ebca77);
  return h ^ (h >>> 15);
}

/** One held-back (target, day, metric), for the run report. */
export interface HeldMetric {
  target: Target;
  date: string;
  metric: Metric;
  /** The first rejection that held it. */
  cause: HoldCause;
  /** Rejections that belonged to it. */
  rejections: number;
}

/** Held metrics of one key: per metric its first cause and how many rejections belonged to it. */
export type KeyHolds = Partial<Record<Metric, { cause: HoldCause; rejections: number }>>;

export class Normalizer {
  private targetIndexByKey = new Map<string, number>();
  private targets: Target[] = [];
  private targetKeys: string[] = [];
  private dayIndexByDate = new Map<string, number>();
  private days: string[] = [];
  /** Per day index: inside the run window. */
  private dayInWindow: boolean[] = [];
  private lastDay = '';
  private lastDayIndex: number | undefined;
  /** Per key: the file of its first row (one reader usually means one file; kept per key all the same). */
  private files: string[] = [];
  private capacity = 1024;
  private blocks = new Float64Array(this.capacity * STRIDE);
  /** Open addressing, linear probing: key number + 1, 0 = free. Never more than half full. */
  private table = new Int32Array(this.capacity * 2);
  /**
   * (target, day) → key number + 1, dense, while the run has few days: the usual file (a day, a month) finds its
   * key with one array read instead of a hash probe (a cache miss per row when rows alternate keys). Dropped,
   * for the hash table alone, past DENSE_MAX_DAYS days or DENSE_MAX_CELLS cells.
   */
  private dense: Int32Array | undefined = new Int32Array(256 * 8);
  private denseDays = 8;
  private keys = 0;
  /** Keys with at least one accepted row. */
  private recordCount = 0;
  /** Exact sums (undefined = missing) of the keys that passed 2^53, by key number. */
  private bigSums = new Map<number, (bigint | undefined)[]>();
  /** Held metrics by key number (rare: only keys a rejection belonged to). */
  private holds = new Map<number, KeyHolds>();
  private readonly from: string | undefined;
  private readonly to: string | undefined;
  private readonly reject: (r: Rejection) => void;
  /** Records accepted into a sum. */
  rowsAdded = 0;
  /** Records whose date is outside the window. */
  skippedOutsideWindow = 0;

  constructor(opts: NormalizerOptions) {
    this.from = opts.window?.from;
    this.to = opts.window?.to;
    this.reject = opts.reject;
  }

  /** Distinct (target, day) keys with at least one row so far. */
  get size(): number {
    return this.recordCount;
  }

  add(rec: SourceRecord): void {
    const ti = this.targetIndex(rec.target);
    const di = this.dayIndex(rec.date);
    if (rec.held !== undefined && this.dayInWindow[di] === true) {
      const slot = this.slotOf(ti, di, rec.origin.file);
      for (const [metric, cause] of Object.entries(rec.held) as [Metric, HoldCause][]) this.holdSlot(slot, metric, cause);
    }
    const m = rec.metrics;
    this.addRow(ti, di, m.smtp_in ?? NO_VALUE, m.smtp_out ?? NO_VALUE, m.pop3_imap_in ?? NO_VALUE, m.pop3_imap_out ?? NO_VALUE, rec.origin.line, rec.origin.file);
  }

  /** The index of a target, created when new (the key of `{ domId }` is `#id`, of `{ domain }` the name). */
  targetIndex(t: Target): number {
    const tk = t.domId !== undefined ? `#${t.domId}` : (t.domain ?? '');
    let ti = this.targetIndexByKey.get(tk);
    if (ti === undefined) {
      ti = this.targets.length;
      this.targetIndexByKey.set(tk, ti);
      this.targets.push(t);
      this.targetKeys.push(tk);
    }
    return ti;
  }

  /** The index of a day `YYYY-MM-DD`, created when new. */
  dayIndex(date: string): number {
    // Readers hand out the same day string for a run of rows: an identity check saves the lookup.
    if (date === this.lastDay && this.lastDayIndex !== undefined) return this.lastDayIndex;
    let di = this.dayIndexByDate.get(date);
    if (di === undefined) {
      di = this.days.length;
      this.dayIndexByDate.set(date, di);
      this.days.push(date);
      // `YYYY-MM-DD` strings compare in calendar order.
      this.dayInWindow.push(!((this.from !== undefined && date < this.from) || (this.to !== undefined && date > this.to)));
    }
    this.lastDay = date;
    this.lastDayIndex = di;
    return di;
  }

  /**
   * One source row by index: `a`..`d` are smtp_in, smtp_out, pop3_imap_in, pop3_imap_out (NO_VALUE when missing).
   * Rows outside the window are counted, not added; a row that would take a sum past xs:long is rejected whole.
   */
  addRow(ti: number, di: number, a: Amount, b: Amount, c: Amount, d: Amount, line: number, file: string): void {
    if (this.dayInWindow[di] !== true) {
      this.skippedOutsideWindow++;
      return;
    }
    const slot = this.slotOf(ti, di, file);
    const base = slot * STRIDE;
    const exact = this.bigSums.size === 0 ? undefined : this.bigSums.get(slot);
    if (exact !== undefined || !this.addSmall(base, a, b, c, d)) {
      if (!this.addExact(slot, [a, b, c, d], line, file)) return;
    }
    const blocks = this.blocks;
    const rows = blocks[base + ROWS] as number;
    if (rows === 0 || line < (blocks[base + FIRST] as number)) blocks[base + FIRST] = line;
    if (rows === 0 || line > (blocks[base + LAST] as number)) blocks[base + LAST] = line;
    blocks[base + ROWS] = rows + 1;
    if (rows === 0) this.recordCount++;
    this.rowsAdded++;
  }

  /**
   * A rejected value belonged to these metrics of (target, date): hold them back (see the file comment). Outside
   * the run window it is ignored like the rows there.
   */
  hold(key: HeldKey, cause: HoldCause): void {
    const ti = this.targetIndex(key.target);
    const di = this.dayIndex(key.date);
    if (this.dayInWindow[di] !== true) return;
    const slot = this.slotOf(ti, di, cause.file);
    for (const metric of key.metrics) this.holdSlot(slot, metric, cause);
  }

  /** A reader's rejection: what it belonged to (Rejection.affects), if the reader could tell, is held back. */
  noteRejected(r: Rejection): void {
    if (r.affects) this.hold(r.affects, { code: r.code, reason: r.reason, file: r.file, line: r.line });
  }

  /** Every held-back (target, day, metric), sorted like records(). */
  heldBack(): HeldMetric[] {
    const out: HeldMetric[] = [];
    for (const slot of this.sortedSlots([...this.holds.keys()])) {
      const { target, date } = this.keyParts(slot);
      const h = this.holds.get(slot)!;
      for (const metric of ORDER) {
        const e = h[metric];
        if (e) out.push({ target, date, metric, cause: e.cause, rejections: e.rejections });
      }
    }
    return out;
  }

  /** Back to empty (a parallel read that has to start over, see `merge`). */
  reset(): void {
    this.targetIndexByKey = new Map();
    this.targets = [];
    this.targetKeys = [];
    this.dayIndexByDate = new Map();
    this.days = [];
    this.dayInWindow = [];
    this.lastDay = '';
    this.lastDayIndex = undefined;
    this.files = [];
    this.capacity = 1024;
    this.blocks = new Float64Array(this.capacity * STRIDE);
    this.table = new Int32Array(this.capacity * 2);
    this.dense = new Int32Array(256 * 8);
    this.denseDays = 8;
    this.keys = 0;
    this.recordCount = 0;
    this.bigSums = new Map();
    this.holds = new Map();
    this.rowsAdded = 0;
    this.skippedOutsideWindow = 0;
  }

  /** The whole state as plain data (a worker thread posts it back to be merged). */
  exportState(): NormalizerState {
    return {
      targets: this.targets,
      targetKeys: this.targetKeys,
      days: this.days,
      files: this.files.slice(0, this.keys),
      keys: this.keys,
      blocks: this.blocks.slice(0, this.keys * STRIDE),
      bigSums: [...this.bigSums],
      holds: [...this.holds],
      rowsAdded: this.rowsAdded,
      skippedOutsideWindow: this.skippedOutsideWindow,
    };
  }

  /**
   * Adds another Normalizer's state, as if its rows had come after this one's: sums exactly, row counts, line spans
   * (shifted by `lineOffset`, the lines before the part it read), holds (first cause kept, counts added). Returns
   * false, having merged only part, if a sum would pass xs:long: rows alone decide which one is refused then, so the
   * caller reads them in order instead.
   */
  merge(other: NormalizerState, lineOffset = 0): boolean {
    const tiOf = other.targets.map((t) => this.targetIndex(t));
    const diOf = other.days.map((d) => this.dayIndex(d));
    const bigOf = new Map(other.bigSums);
    const holdsOf = new Map(other.holds);
    for (let o = 0; o < other.keys; o++) {
      const ob = o * STRIDE;
      const key = other.blocks[ob] as number;
      const oti = Math.floor(key / DAY_SLOTS);
      const slot = this.slotOf(tiOf[oti] as number, diOf[key - oti * DAY_SLOTS] as number, other.files[o] as string);
      const theirHolds = holdsOf.get(o);
      if (theirHolds !== undefined) {
        for (const metric of ORDER) {
          const e = theirHolds[metric];
          if (e === undefined) continue;
          const cause = { ...e.cause, line: e.cause.line + lineOffset };
          let h = this.holds.get(slot);
          if (h === undefined) this.holds.set(slot, (h = {}));
          const mine = h[metric];
          if (mine === undefined) h[metric] = { cause, rejections: e.rejections };
          else mine.rejections += e.rejections;
        }
      }
      const rows = other.blocks[ob + ROWS] as number;
      if (rows === 0) continue; // a key whose every row was rejected is not a record
      const base = slot * STRIDE;
      const theirs = bigOf.get(o);
      const mine = this.bigSums.size === 0 ? undefined : this.bigSums.get(slot);
      const o1 = other.blocks[ob + 1] as number;
      const o2 = other.blocks[ob + 2] as number;
      const o3 = other.blocks[ob + 3] as number;
      const o4 = other.blocks[ob + 4] as number;
      if (theirs !== undefined || mine !== undefined || !this.addSmall(base, o1, o2, o3, o4)) {
        const a = this.exactSums(slot);
        const b = theirs ?? [o1, o2, o3, o4].map((v) => (v === MISSING ? undefined : BigInt(v)));
        const totals = a.map((x, k) => (x === undefined ? b[k] : b[k] === undefined ? x : x + (b[k] as bigint)));
        if (totals.some((v) => v !== undefined && v > XS_LONG_MAX)) return false;
        this.setExactSums(slot, totals);
      }
      const mineRows = this.blocks[base + ROWS] as number;
      const first = (other.blocks[ob + FIRST] as number) + lineOffset;
      const last = (other.blocks[ob + LAST] as number) + lineOffset;
      if (mineRows === 0 || first < (this.blocks[base + FIRST] as number)) this.blocks[base + FIRST] = first;
      if (mineRows === 0 || last > (this.blocks[base + LAST] as number)) this.blocks[base + LAST] = last;
      this.blocks[base + ROWS] = mineRows + rows;
      if (mineRows === 0) this.recordCount++;
    }
    this.rowsAdded += other.rowsAdded;
    this.skippedOutsideWindow += other.skippedOutsideWindow;
    return true;
  }

  /** All day records, sorted by target key then date. */
  records(): DayRecord[] {
    const slots: number[] = [];
    for (let slot = 0; slot < this.keys; slot++) {
      // A key whose every row was rejected has no rows: it is not a record.
      if ((this.blocks[slot * STRIDE + ROWS] as number) > 0) slots.push(slot);
    }
    const out: DayRecord[] = [];
    for (const slot of this.sortedSlots(slots)) {
      const base = slot * STRIDE;
      const metrics = this.metricsOf(slot);
      const holds = this.holds.size === 0 ? undefined : this.holds.get(slot);
      let held: Metric[] | undefined;
      if (holds !== undefined) {
        held = ORDER.filter((m) => holds[m] !== undefined);
        for (const m of held) delete metrics[m];
        // Nothing left to send for this key: every value it had was held back.
        if (Object.keys(metrics).length === 0) continue;
      }
      // Built property by property: V8 (Node 20) makes an object literal with two spreads ~20 µs apiece, 1 s for
      // 50k records.
      const key = this.blocks[base] as number;
      const ti = Math.floor(key / DAY_SLOTS);
      const rec: DayRecord = {
        target: this.targets[ti] as Target,
        date: this.days[key - ti * DAY_SLOTS] as string,
        metrics,
        rows: this.blocks[base + ROWS] as number,
        file: this.files[slot] as string,
        firstLine: this.blocks[base + FIRST] as number,
        lastLine: this.blocks[base + LAST] as number,
      };
      if (held !== undefined) rec.held = held;
      out.push(rec);
    }
    return out;
  }

  /** Key numbers sorted by target key, then date. */
  private sortedSlots(slots: number[]): number[] {
    const targetRank = rankOf(this.targetKeys);
    const dayRank = rankOf(this.days);
    const sortKey = (slot: number): number => {
      const key = this.blocks[slot * STRIDE] as number;
      const ti = Math.floor(key / DAY_SLOTS);
      return (targetRank[ti] as number) * DAY_SLOTS + (dayRank[key - ti * DAY_SLOTS] as number);
    };
    return slots.sort((a, b) => sortKey(a) - sortKey(b));
  }

  private keyParts(slot: number): { target: Target; date: string } {
    const key = this.blocks[slot * STRIDE] as number;
    const ti = Math.floor(key / DAY_SLOTS);
    return { target: this.targets[ti] as Target, date: this.days[key - ti * DAY_SLOTS] as string };
  }

  private holdSlot(slot: number, metric: Metric, cause: HoldCause): void {
    let h = this.holds.get(slot);
    if (h === undefined) this.holds.set(slot, (h = {}));
    const e = h[metric];
    if (e === undefined) h[metric] = { cause, rejections: 1 };
    else e.rejections++;
  }

  /** The key number of (target, day), created (with every sum missing and no rows) when new. */
  private slotOf(ti: number, di: number, file: string): number {
    const dense = this.dense;
    if (dense !== undefined && di < this.denseDays) {
      const e = dense[ti * this.denseDays + di];
      if (e !== undefined && e !== 0) return e - 1;
    }
    const key = ti * DAY_SLOTS + di;
    const mask = this.table.length - 1;
    let h = hash(ti, di) & mask;
    for (;;) {
      const e = this.table[h] as number;
      if (e === 0) break;
      if (this.blocks[(e - 1) * STRIDE] === key) return e - 1;
      h = (h + 1) & mask;
    }
    if (this.keys === this.capacity) {
      this.grow();
      return this.slotOf(ti, di, file);
    }
    const slot = this.keys++;
    this.table[h] = slot + 1;
    const base = slot * STRIDE;
    const blocks = this.blocks;
    blocks[base] = key;
    if (this.dense !== undefined) this.denseSet(ti, di, slot);
    blocks[base + 1] = MISSING;
    blocks[base + 2] = MISSING;
    blocks[base + 3] = MISSING;
    blocks[base + 4] = MISSING;
    blocks[base + ROWS] = 0;
    this.files[slot] = file;
    return slot;
  }

  private denseSet(ti: number, di: number, slot: number): void {
    let days = this.denseDays;
    let dense = this.dense as Int32Array;
    if (di >= days || ti * days + di >= dense.length) {
      while (di >= days) days *= 2;
      let targets = dense.length / this.denseDays;
      while (ti >= targets) targets *= 2;
      if (days > DENSE_MAX_DAYS || targets * days > DENSE_MAX_CELLS) {
        this.dense = undefined;
        return;
      }
      const grown = new Int32Array(targets * days);
      if (days === this.denseDays) grown.set(dense);
      else {
        // New row width: put every key again.
        for (let s = 0; s < this.keys; s++) {
          const key = this.blocks[s * STRIDE] as number;
          const t = Math.floor(key / DAY_SLOTS);
          grown[t * days + (key - t * DAY_SLOTS)] = s + 1;
        }
      }
      this.dense = dense = grown;
      this.denseDays = days;
    }
    dense[ti * days + di] = slot + 1;
  }

  private grow(): void {
    this.capacity *= 2;
    const blocks = new Float64Array(this.capacity * STRIDE);
    blocks.set(this.blocks);
    this.blocks = blocks;
    const table = new Int32Array(this.capacity * 2);
    const mask = table.length - 1;
    for (let slot = 0; slot < this.keys; slot++) {
      const key = blocks[slot * STRIDE] as number;
      const ti = Math.floor(key / DAY_SLOTS);
      let h = hash(ti, key - ti * DAY_SLOTS) & mask;
      while (table[h] !== 0) h = (h + 1) & mask;
      table[h] = slot + 1;
    }
    this.table = table;
  }

  /**
   * Sum in doubles: true when done; false when a value or a sum would pass 2^53 − 1 or a value is negative,
   * leaving the block untouched for `addExact`.
   */
  private addSmall(base: number, a: Amount, b: Amount, c: Amount, d: Amount): boolean {
    const blocks = this.blocks;
    let s0 = blocks[base + 1] as number;
    let s1 = blocks[base + 2] as number;
    let s2 = blocks[base + 3] as number;
    let s3 = blocks[base + 4] as number;
    // Number(bigint) of anything above 2^53 − 1 is ≥ 2^53, so one comparison per value covers "too big".
    if (a !== NO_VALUE) {
      const n = typeof a === 'number' ? a : Number(a);
      if (!(n >= 0 && n <= SAFE)) return false;
      s0 = (s0 === MISSING ? 0 : s0) + n;
    }
    if (b !== NO_VALUE) {
      const n = typeof b === 'number' ? b : Number(b);
      if (!(n >= 0 && n <= SAFE)) return false;
      s1 = (s1 === MISSING ? 0 : s1) + n;
    }
    if (c !== NO_VALUE) {
      const n = typeof c === 'number' ? c : Number(c);
      if (!(n >= 0 && n <= SAFE)) return false;
      s2 = (s2 === MISSING ? 0 : s2) + n;
    }
    if (d !== NO_VALUE) {
      const n = typeof d === 'number' ? d : Number(d);
      if (!(n >= 0 && n <= SAFE)) return false;
      s3 = (s3 === MISSING ? 0 : s3) + n;
    }
    // Both terms ≤ 2^53 − 1: a sum that stays ≤ 2^53 − 1 is exact, and one that does not shows as > SAFE.
    if (s0 > SAFE || s1 > SAFE || s2 > SAFE || s3 > SAFE) return false;
    blocks[base + 1] = s0;
    blocks[base + 2] = s1;
    blocks[base + 3] = s2;
    blocks[base + 4] = s3;
    return true;
  }

  /** Sum in bigint; checks every metric before touching any sum, so a rejected row leaves its key as it was. */
  private addExact(slot: number, values: Amount[], line: number, file: string): boolean {
    const current = this.exactSums(slot);
    const totals = current.slice();
    for (let k = 0; k < 4; k++) {
      const metric = ORDER[k] as Metric;
      const raw = values[k] as Amount;
      if (raw === NO_VALUE) continue;
      const v = typeof raw === 'bigint' ? raw : BigInt(raw);
      if (v < 0n) {
        this.rejectRow(slot, values, line, file, metric, 'R_NEGATIVE', `${metric} ${v} is negative`);
        return false;
      }
      const cur = current[k] ?? 0n;
      const total = cur + v;
      if (total > XS_LONG_MAX) {
        const { target, date } = this.keyParts(slot);
        this.rejectRow(slot, values, line, file, metric, 'R_OVER_LONG', `${metric}: sum ${cur} + ${v} exceeds xs:long (${XS_LONG_MAX}) for ${targetLabel(target)} ${date}`);
        return false;
      }
      totals[k] = total;
    }
    this.setExactSums(slot, totals);
    return true;
  }

  private setExactSums(slot: number, totals: (bigint | undefined)[]): void {
    if (totals.every((v) => v === undefined || v <= SAFE_BIG)) {
      const base = slot * STRIDE;
      for (let k = 0; k < 4; k++) {
        const v = totals[k];
        this.blocks[base + 1 + k] = v === undefined ? MISSING : Number(v);
      }
      this.bigSums.delete(slot);
    } else {
      this.bigSums.set(slot, totals);
    }
  }

  private exactSums(slot: number): (bigint | undefined)[] {
    const big = this.bigSums.get(slot);
    if (big !== undefined) return big;
    const base = slot * STRIDE;
    const out: (bigint | undefined)[] = [];
    for (let k = 0; k < 4; k++) {
      const s = this.blocks[base + 1 + k] as number;
      out.push(s === MISSING ? undefined : BigInt(s));
    }
    return out;
  }

  private metricsOf(slot: number): Metrics {
    const sums = this.exactSums(slot);
    const metrics: Metrics = {};
    for (let k = 0; k < 4; k++) {
      const v = sums[k];
      if (v !== undefined) metrics[ORDER[k] as Metric] = v;
    }
    return metrics;
  }

  /** The whole row is refused, so every metric it carried lost a value: those are held back for its key. */
  private rejectRow(slot: number, values: Amount[], line: number, file: string, metric: Metric, code: RejectCode, reason: string): void {
    const cause: HoldCause = { code, reason, file, line };
    this.reject({ file, line, column: metric, code, reason });
    for (let k = 0; k < 4; k++) if (values[k] !== NO_VALUE) this.holdSlot(slot, ORDER[k] as Metric, cause);
  }
}

/** rank[i] = position of names[i] in sorted order. */
function rankOf(names: string[]): Int32Array {
  const idx = names.map((_, i) => i).sort((a, b) => {
    const x = names[a] as string;
    const y = names[b] as string;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const rank = new Int32Array(names.length);
  idx.forEach((i, r) => (rank[i] = r));
  return rank;
}
