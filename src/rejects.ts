// The reject file: every rejected row or key with file, line, column, code and reason, so nothing bad
// disappears silently and an operator can fix and re-feed exactly those rows. CSV or JSONL by extension.

import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REJECTS } from './errors.js';
import type { Rejection } from './readers/types.js';

export const REJECT_COLUMNS = ['file', 'line', 'column', 'code', 'reason', 'raw'] as const;

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export class RejectSink {
  private out: WriteStream | undefined;
  private readonly jsonl: boolean;
  count = 0;
  readonly byCode: Record<string, number> = {};
  /** The first rejections, kept for the report (bounded: memory must not grow with bad input). */
  readonly sample: Rejection[] = [];

  constructor(file?: string, private readonly sampleSize = 100) {
    this.jsonl = !!file && /\.(jsonl|ndjson|json)$/i.test(file);
    if (file) {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.out = createWriteStream(file, { encoding: 'utf8' });
      if (!this.jsonl) this.out.write(`${REJECT_COLUMNS.join(',')}\n`);
    }
  }

  add(r: Rejection): void {
    this.count++;
    this.byCode[r.code] = (this.byCode[r.code] ?? 0) + 1;
    if (this.sample.length < this.sampleSize) this.sample.push(r);
    if (!this.out) return;
    if (this.jsonl) {
      const { affects: _affects, ...row } = r; // the reject file keeps its columns; the report lists what was held
      this.out.write(`${JSON.stringify({ ...row, message: REJECTS[r.code] })}\n`);
    } else {
      const row = [r.file, String(r.line), r.column ?? '', r.code, r.reason, r.raw ?? ''];
      this.out.write(`${row.map(csvField).join(',')}\n`);
    }
  }

  async close(): Promise<void> {
    const out = this.out;
    if (!out) return;
    this.out = undefined;
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
