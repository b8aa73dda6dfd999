// The reject file: every rejected row or key with file, line, column, code and reason, so nothing bad
// disappears silently and an operator can fix and re-feed exactly those rows. CSV or JSONL by extension.

import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REJECTS } from '../errors.js';
import type { Rejection } from '../model.js';
import type { RunEvents } from './events.js';

export const REJECT_COLUMNS = ['file', 'line', 'column', 'code', 'reason', 'raw'] as const;

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export class RejectSink {
  private out: WriteStream | undefined;
  private readonly jsonl: boolean;
  count = 0;

  constructor(file?: string) {
    this.jsonl = !!file && /\.(jsonl|ndjson|json)$/i.test(file);
    if (file) {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.out = createWriteStream(file, { encoding: 'utf8' });
      if (!this.jsonl) this.out.write(`${REJECT_COLUMNS.join(',')}\n`);
    }
  }

  add(r: Rejection): void {
    this.count++;
    if (!this.out) return;
    if (this.jsonl) {
      const { affects: _affects, ...row } = r; // the reject file keeps its columns; the report lists what was held
      this.out.write(`${JSON.stringify({ ...row, message: REJECTS[r.code] })}\n`);
    } else {
      const row = [r.file, String(r.line), r.column ?? '', r.code, r.reason, r.raw ?? ''];
      this.out.write(`${row.map(csvField).join(',')}\n`);
    }
  }

  /** Every line of the run's reject file: rejected records, unresolved names, counter resets. */
  subscribe(events: RunEvents): this {
    events.on('record.rejected', (r) => this.add(r));
    events.on('target.unresolved', ({ rejection }) => this.add(rejection));
    events.on('counter.reset', ({ rejection }) => this.add(rejection));
    return this;
  }

  async close(): Promise<void> {
    const out = this.out;
    if (!out) return;
    this.out = undefined;
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
