// Worker threads (issue 13): reading a file in byte ranges on N threads gives exactly what one thread gives —
// sums, line spans, held-back metrics, rejects (same lines, same order), ignored counts, rows read.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { Normalizer } from '../../src/normalize.js';
import { createCsvReader, csvSourceSchema, type CsvSourceInput } from '../../src/readers/csv/index.js';
import { rangeStarts } from '../../src/readers/csv/parallel.js';
import type { ReaderContext, Rejection } from '../../src/readers/types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ti-csv-par-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

interface Outcome {
  records: unknown[];
  held: unknown[];
  rejects: Rejection[];
  ignored: [string, number][];
  rowsRead: number;
  skipped: number;
}

async function ingest(file: string, workers: number, cfg: Omit<CsvSourceInput, 'type' | 'path'> = {}, window: { from?: string; to?: string } = {}): Promise<Outcome> {
  const rejects: Rejection[] = [];
  const ignored: [string, number][] = [];
  let rowsRead = 0;
  // As the read stage wires it (src/run/read.ts): a reader's rejection holds what it belonged to.
  const normalizer = new Normalizer({ window, reject: (r) => rejects.push(r) });
  const ctx: ReaderContext = {
    baseDir: dir, window, env: {}, log: silentLogger(), workers,
    reject: (r) => {
      rejects.push(r);
      normalizer.noteRejected(r);
    },
    unresolved: () => { throw new Error('unexpected'); },
    ignored: (what, count = 1) => ignored.push([what, count]),
    rowsRead: (n) => void (rowsRead += n),
  };
  await createCsvReader(csvSourceSchema.parse({ type: 'csv', path: file, ...cfg })).readInto!(ctx, normalizer);
  return { records: normalizer.records(), held: normalizer.heldBack(), rejects, ignored, rowsRead, skipped: normalizer.skippedOutsideWindow };
}

function write(text: string | Buffer): string {
  const file = path.join(dir, `f${++fileNo}.csv`);
  writeFileSync(file, text);
  return file;
}

/** Every row holds a note over three lines: any split point lands inside a record. */
function multiLineFile(rows: number): string {
  const lines = ['date,domain,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out,note'];
  for (let i = 0; i < rows; i++) {
    const day = `2026-11-${String(1 + (i % 5)).padStart(2, '0')}`;
    const domain = `d${i % 37}.example`;
    let row = `${day},${domain},${i},${i * 3},${i % 7},${i % 11},"a note, ""quoted""\nsecond line\r\nthird ${i}"`;
    if (i % 53 === 5) row = `${day},${domain},x${i},1,1,1,"bad value\nstill the same record"`; // rejected multi-line: its later lines are read again
    if (i % 61 === 7) row = `${day},"${domain},${i},1,1,1,unterminated`; // quote never closed until a later note's quote
    if (i % 67 === 3) row = `${day},${domain},${i},1,1`; // too few columns
    lines.push(row);
  }
  return `${lines.join('\n')}\n`;
}

describe('1 thread and N threads give the same result', () => {
  it('on a file whose records all span several lines (every split point inside a record)', async () => {
    const file = write(multiLineFile(3000));
    const one = await ingest(file, 1);
    expect(one.rowsRead).toBeGreaterThan(2500);
    expect(one.rejects.length).toBeGreaterThan(100);
    expect(one.held.length).toBeGreaterThan(0);
    for (const n of [2, 3, 4, 7, 16]) expect(await ingest(file, n), `${n} workers`).toEqual(one);
  });

  it('on a plain file with bad rows, a window, a long layout with ignored protocols, and CRLF', async () => {
    const wide: string[] = ['date,dom_id,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out'];
    for (let i = 0; i < 20000; i++) {
      const bad = i % 97 === 13 ? 'x' : String(i % 1000);
      wide.push(`2026-10-${String(25 + (i % 7)).padStart(2, '0')},${1 + (i % 500)},${bad},${i % 13},${i % 17},${i % 19}`);
    }
    const file = write(wide.join('\r\n'));
    const one = await ingest(file, 1, {}, { from: '2026-10-26', to: '2026-10-30' });
    expect(one.skipped).toBeGreaterThan(0);
    for (const n of [2, 5]) expect(await ingest(file, n, {}, { from: '2026-10-26', to: '2026-10-30' })).toEqual(one);

    const long: string[] = ['date,domain,protocol,direction,bytes'];
    for (let i = 0; i < 20000; i++) {
      const proto = ['smtp', 'imap', 'http', 'pop3', 'ftp', 'uucp'][i % 6] as string;
      long.push(`2026-11-0${1 + (i % 3)},l${i % 300}.example,${proto},${i % 5 === 0 ? 'out' : 'in'},${i}`);
    }
    const longFile = write(long.join('\n'));
    const l1 = await ingest(longFile, 1, { layout: 'long' });
    expect(l1.ignored.map(([w]) => w)).toEqual(['csv protocol http', 'csv protocol ftp']);
    expect(await ingest(longFile, 3, { layout: 'long' })).toEqual(l1);
  });

  it('with a record that spans several ranges, and a header-only file', async () => {
    const note = Array.from({ length: 400 }, (_, i) => `line ${i} of the note`).join('\n');
    const text = `date,domain,smtp_in,note\n2026-11-01,a.example,1,x\n2026-11-01,b.example,2,"${note}"\n2026-11-01,c.example,3,y\n`;
    const file = write(text);
    const one = await ingest(file, 1);
    expect(one.records).toHaveLength(3);
    for (const n of [2, 4, 8]) expect(await ingest(file, n)).toEqual(one);
    const header = write('date,domain,smtp_in\n');
    expect(await ingest(header, 4)).toEqual(await ingest(header, 1));
  });

  it('with rejects beyond what a worker keeps in memory (spilled to a file, replayed in order)', async () => {
    const lines = ['date,domain,smtp_in'];
    for (let i = 0; i < 30000; i++) lines.push(i % 2 === 0 ? `2026-11-01,s${i % 10}.example,${i}` : `2026-11-01,s${i % 10}.example,bad${i}`);
    const file = write(`${lines.join('\n')}\n`);
    const one = await ingest(file, 1);
    expect(one.rejects).toHaveLength(15000);
    const two = await ingest(file, 2);
    expect(two).toEqual(one);
  });

  it('when sums of different ranges pass xs:long together (read again in one thread: same rejects, same holds)', async () => {
    const lines = ['date,domain,smtp_in,smtp_out'];
    for (let i = 0; i < 9000; i++) {
      // 2^62 three times for one key, far apart: any two of them pass xs:long.
      lines.push(i % 3000 === 10 ? '2026-11-01,big.example,4611686018427387904,1' : `2026-11-01,f${i % 20}.example,${i},${i}`);
    }
    const file = write(`${lines.join('\n')}\n`);
    const one = await ingest(file, 1);
    expect(one.rejects.map((r) => [r.line, r.code])).toEqual([[3012, 'R_OVER_LONG'], [6012, 'R_OVER_LONG']]);
    expect(await ingest(file, 3)).toEqual(one);
  });

  it('property: random files of good, bad and multi-line rows, any number of threads', async () => {
    const row = fc.record({
      day: fc.integer({ min: 1, max: 4 }),
      dom: fc.integer({ min: 0, max: 9 }),
      v: fc.nat(1_000_000),
      kind: fc.constantFrom('good', 'good', 'good', 'multi', 'bad', 'quote', 'short', 'blank'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 400 }), fc.integer({ min: 2, max: 9 }), async (rows, n) => {
        const text = ['date,domain,smtp_in,note', ...rows.map((r) => {
          const head = `2026-11-0${r.day},p${r.dom}.example`;
          switch (r.kind) {
            case 'multi': return `${head},${r.v},"one\ntwo, ""three"""`;
            case 'bad': return `${head},${r.v}z,n`;
            case 'quote': return `${head}x",${r.v},n`;
            case 'short': return `${head}`;
            case 'blank': return '';
            default: return `${head},${r.v},n`;
          }
        })].join('\n');
        const file = write(text);
        expect(await ingest(file, n)).toEqual(await ingest(file, 1));
        rmSync(file);
      }),
      { numRuns: 25 },
    );
  });
});

describe('rangeStarts', () => {
  it('gives line starts after evenly spaced offsets, distinct and before the end', async () => {
    const file = write('h\n' + 'abcdefghi\n'.repeat(10));
    expect(await rangeStarts(file, 2, 102, 4, 0x0a)).toEqual([2, 32, 52, 82]); // after 27, 52 (a line start), 77
    expect(await rangeStarts(file, 2, 102, 100, 0x0a)).toEqual([2, 12, 22, 32, 42, 52, 62, 72, 82, 92]);
    const oneLine = write('h\n' + 'x'.repeat(100));
    expect(await rangeStarts(oneLine, 2, 102, 4, 0x0a)).toEqual([2]);
  });
});
