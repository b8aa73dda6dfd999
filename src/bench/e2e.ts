// Bench section `e2e` (issue 13, goals 1, 3, 5): the whole `traffic-import run PIPELINE --dry-run --out DIR`
// process as a user meets it — start-up, reading, normalizing, resolving, reconciling, 500 packets and
// diff.jsonl written — timed from spawn to exit, against what an admin would run instead, each a process on the
// same file in the same run:
//   - bare csv-parse: `for await` over csv-parse's stream, arrays, counting rows (the parser we are built on);
//   - Python: `csv` + dict, 6 lines (summing per key);
//   - awk: a one-liner summing per key;
//   - DuckDB (`read_csv` + GROUP BY), only when a `duckdb` binary is on PATH (it is not a Debian package here).
// The file: BENCH_E2E_ROWS rows (default 1,000,000; 43 MB) of `date,dom_id,smtp_in,smtp_out,pop3_imap_in,
// pop3_imap_out`, 5 days × 10,000 ids = 50,000 keys, random values below 10^6; and ten times as many rows with
// the same keys for the memory figure (BENCH_E2E_MEMORY=0 skips it: it writes a 430 MB file).
// Goals: 1-thread throughput ≥ 0.8 × bare csv-parse's; with the default workers faster than the Python script;
// peak RSS of 10× the rows ≤ 1.3 × (workers included: threads share the process's RSS).
// Each command runs BENCH_REPEAT times (default 3), the kinds alternating; the best wall time counts (other load
// only ever slows a run down). The load average is printed before and after.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGenerated } from './generated-file.js';

const HEADER = 'date,dom_id,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out\n';
const DAYS = 5;
const IDS = 10_000;

interface Run {
  seconds: number;
  /** Peak RSS in MiB, when known (our processes report it; /usr/bin/time for the others, if installed). */
  rssMiB?: number;
  /** What the command printed as its result (a count) — checked against the file. */
  out: string;
}

interface Command {
  name: string;
  argv: string[];
  /** Our own CLI: its report is checked, and its peak RSS read. */
  ours?: { outDir: string; report: string; rss: string };
}

/** Row i: key i mod 50,000 (id, day); values from a fixed LCG, below 10^6. Same keys at every size. */
async function generate(file: string, rows: number): Promise<void> {
  await writeGenerated(file, e2eRows(rows));
}

function* e2eRows(rows: number): Generator<string> {
  yield HEADER;
  let seed = 1;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % 1_000_000;
  };
  for (let i = 0; i < rows; i++) {
    const key = i % (DAYS * IDS);
    yield `2026-11-0${(key % DAYS) + 1},${1 + Math.floor(key / DAYS)},${rnd()},${rnd()},${rnd()},${rnd()}\n`;
  }
}

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Runs a command as a process: wall time from spawn to exit, its stdout, and its peak RSS when it can be had. */
function timed(cmd: Command): Promise<Run> {
  return new Promise((resolve, reject) => {
    if (cmd.ours) rmSync(cmd.ours.outDir, { recursive: true, force: true });
    const viaTime = !cmd.ours && existsSync('/usr/bin/time');
    const argv = viaTime ? ['/usr/bin/time', '-f', 'RSS_KB %M', ...cmd.argv] : cmd.argv;
    const start = performance.now();
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = (performance.now() - start) / 1000;
      // Our CLI exits 0 on a clean file; the others too.
      if (code !== 0) return reject(new Error(`${cmd.name} exited with ${code}: ${err.slice(-2000)}`));
      let rssMiB: number | undefined;
      if (cmd.ours) rssMiB = Number(readFileSync(cmd.ours.rss, 'utf8')) / 1024;
      const m = /RSS_KB (\d+)/.exec(err);
      if (m) rssMiB = Number(m[1]) / 1024;
      resolve({ seconds, ...(rssMiB !== undefined ? { rssMiB } : {}), out: out.trim() });
    });
  });
}

function best(runs: Run[]): Run {
  return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export async function e2eBench(): Promise<Record<string, unknown>> {
  const rows = Number(process.env.BENCH_E2E_ROWS ?? 1_000_000);
  if (!Number.isInteger(rows) || rows < DAYS * IDS) throw new Error(`BENCH_E2E_ROWS must be an integer ≥ ${DAYS * IDS}`);
  const repeat = Number(process.env.BENCH_REPEAT ?? 3);
  const dir = path.join(os.tmpdir(), 'traffic-import-bench');
  mkdirSync(dir, { recursive: true });
  const here = path.dirname(fileURLToPath(import.meta.url));
  const cli = path.join(here, '..', 'cli.js');
  const rssProbe = path.join(here, 'rss-probe.js');
  const csvParse = createRequire(import.meta.url).resolve('csv-parse');
  const cores = os.availableParallelism();
  const load0 = os.loadavg();

  // The baselines' programs, as an admin would write them.
  const bare = path.join(dir, 'bare-csv-parse.mjs');
  writeFileSync(bare, `import { createReadStream } from 'node:fs';\nimport { parse } from ${JSON.stringify(pathToImport(csvParse))};\nlet n = 0;\nfor await (const r of createReadStream(process.argv[2]).pipe(parse())) n++;\nconsole.log(n - 1);\n`);
  const py = path.join(dir, 'sum.py');
  writeFileSync(py, [
    'import csv, sys',
    'from collections import defaultdict',
    't = defaultdict(lambda: [0, 0, 0, 0])',
    "r = csv.reader(open(sys.argv[1], newline='')); next(r)",
    'for d, i, a, b, c, e in r: s = t[(i, d)]; s[0] += int(a); s[1] += int(b); s[2] += int(c); s[3] += int(e)',
    'print(len(t))',
  ].join('\n') + '\n');
  const awk = 'NR>1{k=$1","$2; a[k]+=$3; b[k]+=$4; c[k]+=$5; d[k]+=$6} END{print length(a)}';

  const ours = (file: string, tag: string, workers?: number): Command => {
    const pipeline = path.join(dir, `pipeline-${tag}.json`);
    writeFileSync(pipeline, JSON.stringify({ source: { type: 'csv', path: file }, target: { type: 'plesk' } }));
    const outDir = path.join(dir, `out-${tag}`);
    const report = path.join(dir, `report-${tag}.json`);
    const rss = path.join(dir, `rss-${tag}.txt`);
    return {
      name: workers === undefined ? `traffic-import (default: ${cores} cores)` : `traffic-import --workers ${workers}`,
      argv: [process.execPath, '--import', rssProbe, cli, 'run', pipeline, '--dry-run', '--out', outDir, '--report', report, ...(workers !== undefined ? ['--workers', String(workers)] : [])],
      ours: { outDir, report, rss },
    };
  };
  const check = (cmd: Command, run: Run, fileRows: number): void => {
    if (cmd.ours) {
      const r = JSON.parse(readFileSync(cmd.ours.report, 'utf8')) as { records: { read: number; normalized: number; rejected: number }; packets: number };
      if (r.records.read !== fileRows || r.records.normalized !== DAYS * IDS || r.records.rejected !== 0) throw new Error(`${cmd.name}: unexpected report ${JSON.stringify(r.records)}`);
    } else if (run.out !== String(cmd.name.startsWith('csv-parse') ? fileRows : DAYS * IDS)) {
      throw new Error(`${cmd.name}: printed ${run.out}`);
    }
  };
  const measure = async (cmds: Command[], fileRows: number, times: number): Promise<Map<string, Run>> => {
    const runs = new Map<string, Run[]>(cmds.map((c) => [c.name, []]));
    for (let i = 0; i < times; i++) {
      for (const cmd of cmds) {
        const run = await timed(cmd);
        check(cmd, run, fileRows);
        runs.get(cmd.name)!.push(run);
      }
    }
    return new Map([...runs].map(([k, v]) => [k, best(v)]));
  };

  const file = path.join(dir, `e2e-${rows}.csv`);
  process.stderr.write(`generating ${fmt(rows)} rows in ${file} ...\n`);
  await generate(file, rows);
  const bareCmd: Command = { name: 'csv-parse (bare, arrays, counting rows)', argv: [process.execPath, bare, file] };
  const cmds: Command[] = [bareCmd];
  const pyCmd: Command | undefined = hasCommand('python3') ? { name: 'Python csv + dict (6 lines)', argv: ['python3', py, file] } : undefined;
  if (pyCmd) cmds.push(pyCmd);
  if (hasCommand('awk')) cmds.push({ name: 'awk one-liner', argv: ['awk', '-F,', awk, file] });
  if (hasCommand('duckdb')) {
    cmds.push({
      name: 'DuckDB read_csv + GROUP BY',
      argv: ['duckdb', '-noheader', '-csv', '-c', `SELECT count(*) FROM (SELECT dom_id, date, sum(smtp_in), sum(smtp_out), sum(pop3_imap_in), sum(pop3_imap_out) FROM read_csv('${file}') GROUP BY ALL)`],
    });
  }
  const one = ours(file, 'w1', 1);
  const dflt = ours(file, 'default');
  cmds.push(one, dflt);
  console.log(`\n== e2e: the whole dry-run process with --out on ${fmt(rows)} rows (${DAYS * IDS} keys), best of ${repeat}; ${cores} cores; load ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  const got = await measure(cmds, rows, repeat);

  const b = got.get(bareCmd.name)!;
  const o1 = got.get(one.name)!;
  const od = got.get(dflt.name)!;
  const p = pyCmd ? got.get(pyCmd.name) : undefined;
  const table: string[][] = [];
  for (const cmd of cmds) {
    const r = got.get(cmd.name)!;
    table.push([cmd.name, `${r.seconds.toFixed(2)} s`, `${fmt(rows / r.seconds)} rows/s`, r.rssMiB !== undefined ? `${fmt(r.rssMiB)} MiB` : '']);
  }
  printTable(['command', 'wall', 'throughput', 'peak RSS'], table);
  const ratio1 = b.seconds / o1.seconds;
  console.log(`goal 1 — 1 thread vs bare csv-parse: throughput ratio ${ratio1.toFixed(2)} (goal ≥ 0.80)`);
  const vsPython = p ? od.seconds / p.seconds : undefined;
  if (p) console.log(`goal 3 — default (${cores} cores) vs Python: ${od.seconds.toFixed(2)} s vs ${p.seconds.toFixed(2)} s = ${vsPython!.toFixed(2)}× its time (goal < 1.00)`);
  else console.log('goal 3 — Python not found (python3): no comparison');

  const figures: Record<string, unknown> = {
    section: 'e2e', rows, cores, repeat, loadBefore: load0,
    seconds: Object.fromEntries([...got].map(([k, v]) => [k, Number(v.seconds.toFixed(3))])),
    rssMiB: Object.fromEntries([...got].filter(([, v]) => v.rssMiB !== undefined).map(([k, v]) => [k, Number(v.rssMiB!.toFixed(1))])),
    ratioOneThreadVsBare: Number(ratio1.toFixed(3)),
    ...(vsPython !== undefined ? { defaultVsPythonTime: Number(vsPython.toFixed(3)) } : {}),
  };

  if (process.env.BENCH_E2E_MEMORY !== '0') {
    const big = path.join(dir, `e2e-${rows * 10}.csv`);
    process.stderr.write(`generating ${fmt(rows * 10)} rows in ${big} ...\n`);
    await generate(big, rows * 10);
    const bigDefault = ours(big, 'big-default');
    const bigOne = ours(big, 'big-w1', 1);
    const bigRuns = await measure([bigDefault, bigOne], rows * 10, 1);
    const bd = bigRuns.get(bigDefault.name)!;
    const b1 = bigRuns.get(bigOne.name)!;
    const memRatio = bd.rssMiB! / od.rssMiB!;
    const memRatio1 = b1.rssMiB! / o1.rssMiB!;
    console.log(`goal 5 — peak RSS ${fmt(rows * 10)} vs ${fmt(rows)} rows, default workers: ${fmt(bd.rssMiB!)} / ${fmt(od.rssMiB!)} MiB = ${memRatio.toFixed(2)} (goal ≤ 1.30); 1 thread: ${fmt(b1.rssMiB!)} / ${fmt(o1.rssMiB!)} MiB = ${memRatio1.toFixed(2)}; walls ${bd.seconds.toFixed(1)} s and ${b1.seconds.toFixed(1)} s`);
    Object.assign(figures, { memory: { rowsBig: rows * 10, defaultMiB: [od.rssMiB, bd.rssMiB], oneThreadMiB: [o1.rssMiB, b1.rssMiB], ratioDefault: Number(memRatio.toFixed(3)), ratioOneThread: Number(memRatio1.toFixed(3)) } });
    if (!process.env.BENCH_KEEP) rmSync(big, { force: true });
  }
  const load1 = os.loadavg();
  console.log(`load average after: ${load1.map((l) => l.toFixed(2)).join(' ')}`);
  figures.loadAfter = load1;
  console.log(JSON.stringify(figures));
  for (const c of cmds) if (c.ours) rmSync(c.ours.outDir, { recursive: true, force: true });
  if (!process.env.BENCH_KEEP) rmSync(file, { force: true });
  return figures;
}

function pathToImport(p: string): string {
  return new URL(`file://${p}`).href;
}

export function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
