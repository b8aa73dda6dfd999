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

import type { RejectCode } from './errors.js';
import {
  XS_LONG_MAX, targetLabel,
  type DayRecord, type HeldKey, type HoldCause, type Metric, type Metrics, type SourceRecord, type Target,
} from './model.js';
import type { Rejection } from './readers/types.js';

export interface NormalizerOptions {
  /** Inclusive run window (`YYYY-MM-DD`); records outside it are skipped and counted, not rejected. */
  window?: { from?: string; to?: string };
  reject: (r: Rejection) => void;
}

const SAFE = Number.MAX_SAFE_INTEGER;
const SAFE_BIG = BigInt(SAFE);
/** Block layout, one per key: [key, smtp_in, smtp_out, pop3_imap_in, pop3_imap_out, rows, firstLine, lastLine]. */
const STRIDE = 8;
const ROWS = 5;
const FIRST = 6;
const LAST = 7;
/** A sum slot holding MISSING has had no value yet: missing stays missing, it does not become 0. */
const MISSING = -1;
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
type KeyHolds = Partial<Record<Metric, { cause: HoldCause; rejections: number }>>;

export class Normalizer {
  private readonly targetIndex = new Map<string, number>();
  private readonly targets: Target[] = [];
  private readonly targetKeys: string[] = [];
  private readonly dayIndex = new Map<string, number>();
  private readonly days: string[] = [];
  private lastDay = '';
  private lastDayIndex: number | undefined;
  /** Per key: the file of its first row (one reader usually means one file; kept per key all the same). */
  private readonly files: string[] = [];
  private capacity = 1024;
  private blocks = new Float64Array(this.capacity * STRIDE);
  /** Open addressing, linear probing: key number + 1, 0 = free. Never more than half full. */
  private table = new Int32Array(this.capacity * 2);
  private keys = 0;
  /** Keys with at least one accepted row. */
  private recordCount = 0;
  /** Exact sums (undefined = missing) of the keys that passed 2^53, by key number. */
  private readonly bigSums = new Map<number, (bigint | undefined)[]>();
  /** Held metrics by key number (rare: only keys a rejection belonged to). */
  private readonly holds = new Map<number, KeyHolds>();
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
    const date = rec.date;
    // `YYYY-MM-DD` strings compare in calendar order.
    if ((this.from !== undefined && date < this.from) || (this.to !== undefined && date > this.to)) {
      this.skippedOutsideWindow++;
      return;
    }
    const slot = this.keyOf(rec.target, date, rec.origin.file);
    if (rec.held !== undefined) {
      for (const [metric, cause] of Object.entries(rec.held) as [Metric, HoldCause][]) this.holdSlot(slot, metric, cause);
    }
    const base = slot * STRIDE;
    const exact = this.bigSums.size === 0 ? undefined : this.bigSums.get(slot);
    if (exact !== undefined || !this.addSmall(base, rec.metrics)) {
      if (!this.addExact(slot, rec)) return;
    }
    const blocks = this.blocks;
    const line = rec.origin.line;
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
    const date = key.date;
    if ((this.from !== undefined && date < this.from) || (this.to !== undefined && date > this.to)) return;
    const slot = this.keyOf(key.target, date, cause.file);
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
      out.push({
        ...this.keyParts(slot),
        metrics,
        rows: this.blocks[base + ROWS] as number,
        file: this.files[slot] as string,
        firstLine: this.blocks[base + FIRST] as number,
        lastLine: this.blocks[base + LAST] as number,
        ...(held !== undefined ? { held } : {}),
      });
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

  /** The key number of (target, day), created when new. */
  private keyOf(t: Target, date: string, file: string): number {
    const tk = t.domId !== undefined ? `#${t.domId}` : (t.domain ?? '');
    let ti = this.targetIndex.get(tk);
    if (ti === undefined) {
      ti = this.targets.length;
      this.targetIndex.set(tk, ti);
      this.targets.push(t);
      this.targetKeys.push(tk);
    }
    // Readers hand out the same day string for a run of rows: an identity check saves the lookup.
    let di = date === this.lastDay ? this.lastDayIndex : this.dayIndex.get(date);
    if (di === undefined) {
      di = this.days.length;
      this.dayIndex.set(date, di);
      this.days.push(date);
    }
    this.lastDay = date;
    this.lastDayIndex = di;
    return this.slotOf(ti, di, file);
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
    blocks[base + 1] = MISSING;
    blocks[base + 2] = MISSING;
    blocks[base + 3] = MISSING;
    blocks[base + 4] = MISSING;
    blocks[base + ROWS] = 0;
    this.files[slot] = file;
    return slot;
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
  private addSmall(base: number, m: Metrics): boolean {
    const blocks = this.blocks;
    let s0 = blocks[base + 1] as number;
    let s1 = blocks[base + 2] as number;
    let s2 = blocks[base + 3] as number;
    let s3 = blocks[base + 4] as number;
    // Number(bigint) of anything above 2^53 − 1 is ≥ 2^53, so one comparison per value covers "too big".
    const a = m.smtp_in;
    if (a !== undefined) {
      const n = Number(a);
      if (!(n >= 0 && n <= SAFE)) return false;
      s0 = (s0 === MISSING ? 0 : s0) + n;
    }
    const b = m.smtp_out;
    if (b !== undefined) {
      const n = Number(b);
      if (!(n >= 0 && n <= SAFE)) return false;
      s1 = (s1 === MISSING ? 0 : s1) + n;
    }
    const c = m.pop3_imap_in;
    if (c !== undefined) {
      const n = Number(c);
      if (!(n >= 0 && n <= SAFE)) return false;
      s2 = (s2 === MISSING ? 0 : s2) + n;
    }
    const d = m.pop3_imap_out;
    if (d !== undefined) {
      const n = Number(d);
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
  private addExact(slot: number, rec: SourceRecord): boolean {
    const current = this.exactSums(slot);
    const totals = current.slice();
    for (let k = 0; k < 4; k++) {
      const metric = ORDER[k] as Metric;
      const v = rec.metrics[metric];
      if (v === undefined) continue;
      if (v < 0n) {
        this.rejectRow(slot, rec, metric, 'R_NEGATIVE', `${metric} ${v} is negative`);
        return false;
      }
      const cur = current[k] ?? 0n;
      const total = cur + v;
      if (total > XS_LONG_MAX) {
        this.rejectRow(slot, rec, metric, 'R_OVER_LONG', `${metric}: sum ${cur} + ${v} exceeds xs:long (${XS_LONG_MAX}) for ${targetLabel(rec.target)} ${rec.date}`);
        return false;
      }
      totals[k] = total;
    }
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
    return true;
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
  private rejectRow(slot: number, rec: SourceRecord, metric: Metric, code: RejectCode, reason: string): void {
    const cause: HoldCause = { code, reason, file: rec.origin.file, line: rec.origin.line };
    this.reject({ file: rec.origin.file, line: rec.origin.line, column: metric, code, reason });
    for (const m of ORDER) if (rec.metrics[m] !== undefined) this.holdSlot(slot, m, cause);
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
