// Bench: 10k changed records against the emulator with 20 ms latency per packet, through the whole flow
// (resolve, get_traffic, batched set_traffic with bounded concurrency), compared with one node per request
// sent sequentially, measured in the same run.
// BENCH_SEND_RECORDS (default 10000) scales the import; BENCH_BASELINE_NODES (default 1000) is how many
// single-node requests the baseline really sends — it is linear (one round trip each), so its per-node time
// is projected to the full record count and the projection is labelled as such. Set it equal to
// BENCH_SEND_RECORDS to measure the baseline in full (≈ records × 21 ms).
// Issue 13, goal 4: the live run's wall time against its lower bound, requests ÷ concurrency × latency (reads
// included), goal ≤ 1.5×; with where the time goes: each stage's share (run events), and the CPU the emulator
// spent (from /proc: its one thread handles the packets one after another, whatever is in flight).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePipeline } from '../config.js';
import { addDays } from '../dates.js';
import { runPipeline } from '../flow.js';
import { RunEvents } from '../run/events.js';
import { readFileSync } from 'node:fs';
import { silentLogger } from '../log.js';
import { PleskClient } from '../plesk/client.js';
import { fileURLToPath } from 'node:url';

const LATENCY_MS = 20;

export async function sendBench(): Promise<Record<string, unknown>> {
  const records = Number(process.env.BENCH_SEND_RECORDS ?? 10_000);
  const baselineNodes = Math.min(records, Number(process.env.BENCH_BASELINE_NODES ?? 1_000));
  const subs = 100;
  const days = Math.ceil(records / subs);
  const fixture = {
    auth: { login: 'bench', password: 'bench-password', secretKeys: [] },
    subscriptions: Array.from({ length: subs }, (_, i) => ({ id: i + 1, name: `bench${i + 1}.example` })),
    sites: [],
    plans: [],
    traffic: [],
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-bench-send-'));
  const rows = ['date,domain,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out'];
  let n = 0;
  for (let d = 0; d < days && n < records; d++) {
    const date = addDays('2026-01-01', d);
    for (let s = 1; s <= subs && n < records; s++, n++) rows.push(`${date},bench${s}.example,${s * 1000 + d},${d},${s},${n}`);
  }
  writeFileSync(path.join(dir, 'in.csv'), `${rows.join('\n')}\n`);

  // The emulator runs as its own process, as a panel would: its XML work does not share our event loop.
  writeFileSync(path.join(dir, 'fixture.json'), JSON.stringify(fixture));
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'emulator', '--fixture', path.join(dir, 'fixture.json'), '--port', '0', '--latency-ms', String(LATENCY_MS)], {
    stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const emulator = { url: line.toString().trim() };
  const env = { PLESK_LOGIN: 'bench', PLESK_PASSWORD: 'bench-password' };
  try {
    // Batched: the product's flow, 100 nodes per packet, 4 packets in flight.
    const pipeline = parsePipeline({
      source: { type: 'csv', path: 'in.csv' },
      target: { type: 'plesk', url: emulator.url, batchSize: 100, concurrency: 4 },
      state: { path: './state' },
    }, path.join(dir, 'pipeline.json'));
    // Warm-up (JIT, connections, both processes) on other days, so both sides are measured hot.
    writeFileSync(path.join(dir, 'warm.csv'), `date,domain,smtp_in\n${Array.from({ length: 500 }, (_, i) => `2024-01-${String(1 + (i % 28)).padStart(2, '0')},bench${1 + (i % subs)}.example,${i}`).join('\n')}\n`);
    await runPipeline({ pipeline: { ...pipeline, source: { ...pipeline.source, path: 'warm.csv' } as typeof pipeline.source }, dryRun: false, env, log: silentLogger() });
    const events = new RunEvents();
    const stages: [string, number][] = [];
    events.on('stage.started', ({ stage }) => stages.push([stage, performance.now()]));
    const requestMs: number[] = [];
    events.on('request.done', ({ what, durationMs }) => void (what.startsWith('set_traffic') && requestMs.push(durationMs)));
    const emulatorCpu0 = cpuMsOf(child.pid);
    const t0 = performance.now();
    const report = await runPipeline({ pipeline, dryRun: false, env, log: silentLogger(), events });
    const batchedMs = performance.now() - t0;
    const emulatorCpuMs = cpuMsOf(child.pid) - emulatorCpu0;
    const stageMs = stages.map(([name, at], i) => [name, (stages[i + 1]?.[1] ?? t0 + batchedMs) - at] as const);
    requestMs.sort((a, b) => a - b);
    const p50 = requestMs[Math.floor(requestMs.length / 2)] ?? 0;
    // resolve (get) + get_traffic + set_traffic packets; every one is a request to the panel.
    const batchedRequests = report.packets + Math.ceil(subs / 100) + Math.ceil(subs / 100);
    if (report.nodes.applied !== records) throw new Error(`bench: expected ${records} applied, got ${report.nodes.applied}`);

    // Baseline: one node per request, one request at a time.
    const client = new PleskClient({
      url: emulator.url, auth: { login: 'bench', password: 'bench-password' }, packetVersion: '1.6.3.0', concurrency: 1,
      timeouts: { connectMs: 10_000, headersMs: 60_000, bodyMs: 60_000 }, retry: { attempts: 1, minDelayMs: 0, maxDelayMs: 0 },
    }, silentLogger());
    const t1 = performance.now();
    for (let i = 0; i < baselineNodes; i++) {
      const s = (i % subs) + 1;
      const out = await client.setTraffic('webspace', [{ domId: s, date: addDays('2025-01-01', Math.floor(i / subs)), smtp_in: BigInt(i), smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n }], { idempotent: true });
      if (out.kind !== 'applied') throw new Error(`bench baseline: ${out.kind}`);
    }
    const baselineMs = performance.now() - t1;
    const baselineRequests = baselineNodes;
    await client.close();
    const perNode = baselineMs / baselineNodes;
    const baselineFullMs = perNode * records;
    const boundMs = (batchedRequests / 4) * LATENCY_MS;
    const figures = {
      records,
      latencyMs: LATENCY_MS,
      batchedRequests,
      batchedWallMs: Math.round(batchedMs),
      lowerBoundMs: boundMs,
      vsLowerBound: Number((batchedMs / boundMs).toFixed(2)),
      stagesMs: Object.fromEntries(stageMs.map(([n, ms]) => [n, Math.round(ms)])),
      emulatorCpuMs: Math.round(emulatorCpuMs),
      setTrafficP50Ms: Number(p50.toFixed(1)),
      baselineNodesMeasured: baselineNodes,
      baselineRequests,
      baselineWallMs: Math.round(baselineMs),
      baselineMsPerNode: Number(perNode.toFixed(2)),
      baselineWallMsForAllRecords: Math.round(baselineFullMs),
      speedup: Number((baselineFullMs / batchedMs).toFixed(1)),
    };
    const projected = baselineNodes < records ? ` (projected from ${baselineNodes} measured)` : '';
    process.stdout.write(
      `\n== Send: ${records} changed records, emulator latency ${LATENCY_MS} ms per request ==\n` +
        `  batched (100 nodes/packet, 4 in flight): ${batchedRequests} requests, ${figures.batchedWallMs} ms wall ` +
        `(${Math.round(records / (batchedMs / 1000))} nodes/s)\n` +
        `  one node per request, sequential:        ${baselineRequests} requests in ${figures.baselineWallMs} ms = ${figures.baselineMsPerNode} ms/node; ` +
        `${records} nodes ≈ ${figures.baselineWallMsForAllRecords} ms${projected}\n` +
        `  speed-up: ${figures.speedup}× (target ≥ 100×)\n` +
        `  goal 4 — ${figures.batchedWallMs} ms vs lower bound ${batchedRequests} requests ÷ 4 × ${LATENCY_MS} ms = ${boundMs} ms: ${figures.vsLowerBound}× (goal ≤ 1.5×); load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n` +
        `    stages: ${stageMs.map(([n, ms]) => `${n} ${Math.round(ms)} ms`).join(', ')}\n` +
        `    emulator CPU during the run: ${figures.emulatorCpuMs} ms (${(emulatorCpuMs / batchedRequests).toFixed(1)} ms a request, one thread: packets in flight wait for each other); ` +
        `set_traffic request p50 ${figures.setTrafficP50Ms} ms for ${LATENCY_MS} ms latency\n` +
        `${JSON.stringify({ bench: 'send', ...figures })}\n`,
    );
    return figures;
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time (user + system) a process has used, from /proc (Linux); 0 elsewhere. */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the command name: state is field 3; utime and stime are fields 14 and 15, in clock ticks.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}
