// Ingest benchmark: the CSV reader + Normalizer against bare csv-parse on the same wide file.
// Each measurement runs in its own child process so peak RSS (process.resourceUsage().maxRSS) is that run's
// alone. Two sizes with the SAME (domain, day) keys: N rows and 10 × N rows. Memory must grow with keys, not
// rows, so the 10N/N RSS ratio of our run should stay near 1 (target ≤ 1.3); speed target: ≥ 0.7 × bare.

import { fork } from 'node:child_process';
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGenerated } from './generated-file.js';
import { parse } from 'csv-parse';
import { silentLogger } from '../log.js';
import { Normalizer } from '../normalize.js';
import { createCsvReader, csvSourceSchema } from '../readers/csv/index.js';

const DOMAINS = 2000;
const DAYS = 30;
const HEADER = 'date,domain,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out\n';

type Mode = 'bare' | 'ours';

export interface IngestRun {
  mode: Mode;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMiB: number;
  /** ours: distinct (domain, day) records after normalizing (bare: 0). */
  keys: number;
}

export interface IngestFigures {
  section: 'ingest';
  sizes: { rows: number; bare: IngestRun; ours: IngestRun; ratio: number }[];
  rssRatio: number;
}

/** Row i: domain i mod 2000, day ⌊i / 2000⌋ mod 30. The same 60,000 keys at every size. */
async function generate(file: string, rows: number): Promise<void> {
  await writeGenerated(file, ingestRows(rows));
}

function* ingestRows(rows: number): Generator<string> {
  const days = Array.from({ length: DAYS }, (_, d) => `2026-11-${String(d + 1).padStart(2, '0')}`);
  const domains = Array.from({ length: DOMAINS }, (_, i) => `customer-${i}.example.com`);
  yield HEADER;
  for (let i = 0; i < rows; i++) {
    const d = i % DOMAINS;
    const day = Math.floor(i / DOMAINS) % DAYS;
    yield `${days[day]},${domains[d]},${(i * 7919) % 50_000_000},${(i * 104729) % 5_000_000},${(i * 31) % 20_000_000},${i % 777_777}\n`;
  }
}

/** Child side: one measurement, printed as a JSON line. */
async function measure(mode: Mode, file: string): Promise<IngestRun> {
  const start = performance.now();
  let rows = 0;
  let keys = 0;
  if (mode === 'bare') {
    for await (const _record of createReadStream(file).pipe(parse())) rows++;
    rows--; // the header
  } else {
    const normalizer = new Normalizer({ reject: () => {} });
    let rejected = 0;
    const reader = createCsvReader(csvSourceSchema.parse({ type: 'csv', path: file }));
    // The product's path (rows straight into the normalizer), in this one thread: the e2e section has the workers.
    await reader.readInto!(
      {
        baseDir: process.cwd(), window: {}, env: {}, log: silentLogger(), reject: () => rejected++, unresolved: () => {}, ignored: () => {},
        workers: 1, rowsRead: (n) => void (rows += n),
      },
      normalizer,
    );
    keys = normalizer.records().length;
    if (rejected > 0) throw new Error(`${rejected} rows rejected: the generated file should be clean`);
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    mode,
    rows,
    seconds,
    rowsPerSecond: rows / seconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    keys,
  };
}

function runChild(mode: Mode, file: string): Promise<IngestRun> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--ingest-child', mode, file], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`bench child ${mode} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as IngestRun);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

function best(runs: IngestRun[]): IngestRun {
  // Fastest run of each kind: the machine's other load only ever slows a run down.
  return runs.reduce((a, b) => (b.rowsPerSecond > a.rowsPerSecond ? b : a));
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function ingestBench(): Promise<IngestFigures> {
  const base = Number(process.env.BENCH_ROWS ?? 1_000_000);
  if (!Number.isInteger(base) || base < 1000) throw new Error('BENCH_ROWS must be an integer ≥ 1000');
  const repeats = Number(process.env.BENCH_REPEAT ?? 3);
  const dir = path.join(os.tmpdir(), 'traffic-import-bench');
  mkdirSync(dir, { recursive: true });
  const sizes = [base, base * 10];
  const figures: IngestFigures = { section: 'ingest', sizes: [], rssRatio: 0 };

  console.log(`\n== ingest: wide CSV, ${DOMAINS} domains × ${DAYS} days (${fmt(DOMAINS * DAYS)} keys), best of ${repeats} runs per size`);
  for (const rows of sizes) {
    const file = path.join(dir, `ingest-${rows}.csv`);
    process.stderr.write(`generating ${fmt(rows)} rows in ${file} ...\n`);
    await generate(file, rows);
    const bare: IngestRun[] = [];
    const ours: IngestRun[] = [];
    // A 10× file runs once (minutes otherwise); alternate the kinds so load spikes hit both alike.
    const n = rows === base ? repeats : 1;
    for (let i = 0; i < n; i++) {
      bare.push(await runChild('bare', file));
      ours.push(await runChild('ours', file));
    }
    const b = best(bare);
    const o = best(ours);
    if (o.rows !== rows || b.rows !== rows) throw new Error(`row count mismatch: file ${rows}, bare ${b.rows}, ours ${o.rows}`);
    const keys = Math.min(rows, DOMAINS * DAYS);
    if (o.keys !== keys) throw new Error(`expected ${keys} keys, got ${o.keys}`);
    figures.sizes.push({ rows, bare: b, ours: o, ratio: o.rowsPerSecond / b.rowsPerSecond });
    if (!process.env.BENCH_KEEP) rmSync(file, { force: true });
  }
  const [small, big] = figures.sizes;
  figures.rssRatio = big && small ? big.ours.peakRssMiB / small.ours.peakRssMiB : 0;

  const header = ['rows', 'run', 'rows/s', 'seconds', 'peak RSS', 'ours/bare'];
  const table: string[][] = [];
  for (const s of figures.sizes) {
    table.push([fmt(s.rows), 'csv-parse (bare for await)', fmt(s.bare.rowsPerSecond), s.bare.seconds.toFixed(2), `${s.bare.peakRssMiB.toFixed(0)} MiB`, '']);
    table.push([fmt(s.rows), 'CSV reader + Normalizer', fmt(s.ours.rowsPerSecond), s.ours.seconds.toFixed(2), `${s.ours.peakRssMiB.toFixed(0)} MiB`, `${s.ratio.toFixed(2)} (target ≥ 0.70)`]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 1 || i === 5 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of table) console.log(line(r));
  if (small && big) {
    console.log(`peak RSS ${fmt(big.rows)} / ${fmt(small.rows)} rows (reader + Normalizer): ${figures.rssRatio.toFixed(2)} (target ≤ 1.30)`);
  }
  console.log(JSON.stringify(figures));
  return figures;
}

// Child process entry: `node dist/bench/ingest.js --ingest-child <bare|ours> <file>`.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--ingest-child') {
  const mode = process.argv[3] as Mode;
  const file = process.argv[4] as string;
  measure(mode, file).then(
    (run) => {
      process.stdout.write(JSON.stringify(run) + '\n');
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
