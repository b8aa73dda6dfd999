// Maillog bench: the whole `traffic-import run PIPELINE --dry-run` process on a big generated mail log, against
// pflogsumm (the tool admins run on Postfix logs) on the same file, in the same run; and our peak RSS on a log
// five times longer with the same domains and days (memory must grow with messages in flight and domain-days,
// never with lines: target ≤ 1.3×). Goal: ≥ 3 × pflogsumm's lines/s.
//
// The log is made from the real capture samples/maillog/capture/mail.log (Postfix 3.7 + Dovecot 2.3 through
// rsyslog): the capture is repeated with fresh queue ids (short hex, as Postfix writes by default), its time
// line squeezed into a slot so the copies follow each other over BENCH_MAILLOG_DAYS days, and its domains
// renamed per copy (alpha.example → alpha17.example …) so there are many domain-days. Deterministic.
// Each run is a child process; peak RSS is read from /proc/<pid>/status (VmHWM) while it runs.
//
// BENCH_MAILLOG_LINES (default 2000000) sizes the small log, the big one is 5 × that; BENCH_REPEAT runs per kind
// on the small log (default 3); BENCH_KEEP=1 keeps the files; BENCH_MAILLOG_DAYS (default 7).

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGenerated } from './generated-file.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CAPTURE = path.join(ROOT, 'samples', 'maillog', 'capture', 'mail.log');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Distinct customer domain pairs (alphaN / betaN): 2 × 250 domains × days keys. */
const DOMAIN_PAIRS = 250;
const START = Date.UTC(2026, 9, 1); // 2026-10-01, local wall time

interface Template {
  /** Seconds from the capture's first line, per line. */
  offsets: number[];
  /** Line text after the 15-character stamp, with queue ids as {i} placeholders split out. */
  parts: string[][];
  /** Index of the queue id each placeholder stands for. */
  ids: number[][];
  qidCount: number;
  span: number;
}

/** The capture cut into stamp offsets and text pieces around its queue ids and domain names. */
function template(): Template {
  const lines = readFileSync(CAPTURE, 'utf8').replace(/\n$/, '').split('\n');
  const secs = (l: string): number => Number(l.slice(7, 9)) * 3600 + Number(l.slice(10, 12)) * 60 + Number(l.slice(13, 15));
  const t0 = secs(lines[0]!);
  const qids = new Map<string, number>();
  const t: Template = { offsets: [], parts: [], ids: [], qidCount: 0, span: secs(lines[lines.length - 1]!) - t0 + 1 };
  // Long queue ids (the capture ran with enable_long_queue_ids): 10 + 'z' + more characters of the id alphabet.
  const QID = /\b[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{2,}\b/g;
  for (const line of lines) {
    t.offsets.push(secs(line) - t0);
    const rest = line.slice(15);
    const parts: string[] = [];
    const ids: number[] = [];
    let last = 0;
    for (const m of rest.matchAll(QID)) {
      let id = qids.get(m[0]);
      if (id === undefined) qids.set(m[0], (id = qids.size));
      parts.push(rest.slice(last, m.index));
      ids.push(id);
      last = m.index! + m[0].length;
    }
    parts.push(rest.slice(last));
    t.parts.push(parts);
    t.ids.push(ids);
  }
  t.qidCount = qids.size;
  return t;
}

function stamp(wallMs: number): string {
  const d = new Date(wallMs);
  const hms = [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${hms}`;
}

/** A short Postfix queue id (upper-case hex, 11 characters as Postfix 3 writes them), unique per message. */
function shortId(n: number): string {
  return n.toString(16).toUpperCase().padStart(11, '0');
}

/** Writes `lines` lines (whole copies of the capture, the last one cut) to `file`. */
export async function generate(file: string, lines: number, days: number): Promise<number> {
  await writeGenerated(file, maillogLines(lines, days));
  return lines;
}

function* maillogLines(lines: number, days: number): Generator<string> {
  const t = template();
  const perCopy = t.offsets.length;
  const copies = Math.ceil(lines / perCopy);
  const slotMs = (days * 86_400_000) / copies;
  const squeeze = Math.min(1, slotMs / 1000 / t.span);
  let written = 0;
  for (let c = 0; c < copies && written < lines; c++) {
    const base = START + c * slotMs;
    const pair = c % DOMAIN_PAIRS;
    const rename = (s: string): string => s.replaceAll('alpha.example', `alpha${pair}.example`).replaceAll('beta.example', `beta${pair}.example`);
    for (let i = 0; i < perCopy && written < lines; i++, written++) {
      const parts = t.parts[i]!;
      const ids = t.ids[i]!;
      let text = parts[0]!;
      for (let k = 0; k < ids.length; k++) text += shortId(c * t.qidCount + ids[k]! + 0x10000) + parts[k + 1]!;
      yield stamp(base + Math.floor(t.offsets[i]! * squeeze * 1000)) + rename(text) + '\n';
    }
  }
}

export interface MaillogRun {
  kind: 'ours' | 'pflogsumm';
  lines: number;
  seconds: number;
  linesPerSecond: number;
  peakRssMiB: number;
  exitCode: number | null;
}

/** Runs a command to its end; wall time and peak RSS (VmHWM polled every 20 ms: a high-water mark, so only
 *  growth in the last 20 ms could be missed). */
async function measure(kind: MaillogRun['kind'], cmd: string, args: string[], lines: number, env: NodeJS.ProcessEnv): Promise<MaillogRun> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 20_000) stderr += d.toString();
  });
  let hwm = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) hwm = Math.max(hwm, Number(m[1]));
    } catch {
      // exited between two polls
    }
  }, 20);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(poll);
  const seconds = (performance.now() - t0) / 1000;
  if (kind === 'ours' && code !== 0) throw new Error(`traffic-import exited with ${code}:\n${stderr.slice(-4000)}`);
  if (kind === 'pflogsumm' && code !== 0) throw new Error(`pflogsumm exited with ${code}:\n${stderr.slice(-4000)}`);
  return { kind, lines, seconds, linesPerSecond: lines / seconds, peakRssMiB: hwm / 1024, exitCode: code };
}

function pflogsummPath(): string | undefined {
  for (const p of ['/usr/sbin/pflogsumm', '/usr/bin/pflogsumm']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v pflogsumm || command -v pflogsumm.pl'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const best = (runs: MaillogRun[]): MaillogRun => runs.reduce((a, b) => (b.linesPerSecond > a.linesPerSecond ? b : a));

export async function maillogBench(): Promise<Record<string, unknown>> {
  const small = Number(process.env.BENCH_MAILLOG_LINES ?? 2_000_000);
  if (!Number.isInteger(small) || small < 10_000) throw new Error('BENCH_MAILLOG_LINES must be an integer ≥ 10000');
  const big = small * 5;
  const repeats = Number(process.env.BENCH_REPEAT ?? 3);
  const days = Number(process.env.BENCH_MAILLOG_DAYS ?? 7);
  const dir = path.join(os.tmpdir(), 'traffic-import-bench');
  mkdirSync(dir, { recursive: true });
  const load = os.loadavg();
  console.log(`\n== maillog: \`traffic-import run --dry-run\` (whole process, emulator in its own process) vs pflogsumm, ` +
    `same file; best of ${repeats} runs on ${fmt(small)} lines; load average ${load.map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs`);

  // The emulator knows every generated domain, so the dry-run resolves and reads recorded traffic like a real one.
  const fixture = {
    auth: { login: 'bench', password: 'bench-password', secretKeys: [] },
    subscriptions: Array.from({ length: DOMAIN_PAIRS * 2 }, (_, i) => ({ id: i + 1, name: `${i % 2 === 0 ? 'alpha' : 'beta'}${i >> 1}.example` })),
    sites: [],
    plans: [],
    traffic: [],
  };
  writeFileSync(path.join(dir, 'maillog-fixture.json'), JSON.stringify(fixture));
  writeFileSync(path.join(dir, 'maillog-users.csv'), 'user,domain\nlegacy,beta0.example\n');
  const emulator = spawn(process.execPath, [CLI, 'emulator', '--fixture', path.join(dir, 'maillog-fixture.json'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  const [urlLine] = (await once(emulator.stdout!, 'data')) as [Buffer];
  const env = { ...process.env, PLESK_URL: urlLine.toString().trim(), PLESK_LOGIN: 'bench', PLESK_PASSWORD: 'bench-password', LOG_LEVEL: 'warn', NO_PRETTY: '1' };
  const pflogsumm = pflogsummPath();
  const figures: Record<string, unknown> = { section: 'maillog', loadAverage: load, pflogsumm: pflogsumm ?? null };
  const files: string[] = [];
  try {
    const ours = async (file: string, lines: number): Promise<MaillogRun> => {
      const pipeline = path.join(dir, `maillog-${lines}.json`);
      writeFileSync(pipeline, JSON.stringify({
        source: { type: 'maillog', paths: [file], timezone: 'UTC', year: 2026, edges: 'drop', userMap: 'maillog-users.csv', ignoreDomains: ['mail.hosting.example', 'remote.example'] },
        target: { type: 'plesk', operator: 'webspace' },
        reconcile: { mode: 'absolute' },
      }));
      return measure('ours', process.execPath, [CLI, 'run', pipeline, '--dry-run'], lines, env);
    };
    const sizes: { lines: number; ours: MaillogRun; pflogsumm?: MaillogRun }[] = [];
    for (const lines of [small, big]) {
      const file = path.join(dir, `maillog-${lines}.log`);
      files.push(file);
      process.stderr.write(`generating ${fmt(lines)} lines in ${file} ...\n`);
      await generate(file, lines, days);
      const n = lines === small ? repeats : 1;
      const o: MaillogRun[] = [];
      const p: MaillogRun[] = [];
      // Alternate the two, so a load spike from the machine's other users hits both alike.
      for (let i = 0; i < n; i++) {
        o.push(await ours(file, lines));
        if (pflogsumm && lines === small) p.push(await measure('pflogsumm', pflogsumm, [file], lines, env));
      }
      sizes.push({ lines, ours: best(o), ...(p.length > 0 ? { pflogsumm: best(p) } : {}) });
    }
    const [s, b] = sizes as [(typeof sizes)[0], (typeof sizes)[0]];
    const ratio = s.pflogsumm ? s.ours.linesPerSecond / s.pflogsumm.linesPerSecond : undefined;
    const rssRatio = b.ours.peakRssMiB / s.ours.peakRssMiB;
    const rows: string[][] = [['lines', 'run', 'lines/s', 'seconds', 'peak RSS', 'vs pflogsumm']];
    for (const x of sizes) {
      if (x.pflogsumm) rows.push([fmt(x.lines), `pflogsumm ${pflogsumm}`, fmt(x.pflogsumm.linesPerSecond), x.pflogsumm.seconds.toFixed(2), `${x.pflogsumm.peakRssMiB.toFixed(0)} MiB`, '']);
      rows.push([fmt(x.lines), 'traffic-import run --dry-run', fmt(x.ours.linesPerSecond), x.ours.seconds.toFixed(2), `${x.ours.peakRssMiB.toFixed(0)} MiB`,
        x.pflogsumm ? `${(x.ours.linesPerSecond / x.pflogsumm.linesPerSecond).toFixed(2)}× (goal ≥ 3)` : '']);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const [k, r] of rows.entries()) {
      console.log(r.map((c, i) => (i === 1 || i === 5 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
      if (k === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    }
    if (!pflogsumm) console.log('pflogsumm is not installed (apt-get install pflogsumm): no baseline in this run');
    const after = os.loadavg();
    figures.loadAverageAfter = after;
    console.log(`load average after: ${after.map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`peak RSS ${fmt(big)} / ${fmt(small)} lines (whole process): ${rssRatio.toFixed(2)} (target ≤ 1.30)`);
    Object.assign(figures, { sizes, ratio: ratio ?? null, rssRatio });
    console.log(JSON.stringify(figures));
    return figures;
  } finally {
    emulator.kill();
    if (!process.env.BENCH_KEEP) for (const f of files) rmSync(f, { force: true });
  }
}
