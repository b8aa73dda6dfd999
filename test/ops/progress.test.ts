// Progress: the counters' pace and ETA; off a TTY an info line every --progress-interval (fake clock); on a
// terminal a live line that neither garbles the log lines nor the summary (the built CLI under `script`, its
// output rendered by a real terminal emulator, @xterm/headless).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import xterm from '@xterm/headless';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log.js';
import { pace, progressFields, progressText, startProgress, subscribeProgress, type ProgressCounters } from '../../src/progress.js';
import { RunEvents } from '../../src/run/events.js';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';
import { CLI, cleanEnv } from '../support/cli.js';

let emulator: Emulator | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await emulator?.close();
  emulator = undefined;
});

const counters = (over: Partial<ProgressCounters>): ProgressCounters => ({
  pipeline: 'nightly', phase: 'send', rows: 2000, records: 1500, packetsTotal: 15, packetsSent: 0, nodesTotal: 1500, nodesSent: 0, ...over,
});

describe('counters', () => {
  it('nodes/s since the first packet and the ETA at that pace', () => {
    expect(pace(counters({}), 1_000)).toEqual({ nodesPerSecond: 0, etaSeconds: undefined });
    const c = counters({ sendStartedAt: 10_000, packetsSent: 5, nodesSent: 500 });
    expect(pace(c, 20_000)).toEqual({ nodesPerSecond: 50, etaSeconds: 20 });
    expect(progressText(c, 20_000)).toBe('send      rows 2000 · records 1500 · packets 5/15 · 50.0 nodes/s · ETA 20s');
    expect(progressFields(c, 20_000)).toEqual({ pipeline: 'nightly', phase: 'send', rows: 2000, records: 1500, packets: '5/15', nodesPerSecond: 50, etaSeconds: 20 });
    expect(progressText(counters({ sendStartedAt: 0, nodesSent: 1, packetsSent: 1 }), 10_000)).toMatch(/ETA 4h09m$/);
  });

  it('follows the run events', async () => {
    const events = new RunEvents();
    const p = await startProgress({ pipeline: 'x', tty: false, intervalMs: 0, log: createLogger({ destination: { write: () => undefined } }) });
    subscribeProgress(events, p);
    events.emit('stage.started', { stage: 'read' });
    events.emit('records.read', { count: 16384 });
    events.emit('records.read', { count: 10 });
    events.emit('records.normalized', { count: 900 });
    events.emit('nodes.planned', { nodes: 900, packets: 9 });
    events.emit('packet.sent', { operator: 'webspace', nodes: 100 });
    events.emit('packet.answered', { operator: 'webspace', nodes: 100, outcome: 'applied', applied: 100, failed: 0 });
    p.stop();
    expect(p.counters).toMatchObject({ phase: 'read', rows: 16394, records: 900, packetsTotal: 9, packetsSent: 1, nodesTotal: 900, nodesSent: 100 });
    expect(p.counters.sendStartedAt).toEqual(expect.any(Number));
  });
});

describe('off a terminal', () => {
  it('an info line with the counters every interval, none after stop', async () => {
    vi.useFakeTimers();
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ tty: false, destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
    const p = await startProgress({ pipeline: 'nightly', tty: false, intervalMs: 10_000, log });
    Object.assign(p.counters, { phase: 'send', rows: 20, records: 15, packetsTotal: 15, packetsSent: 3 });
    vi.advanceTimersByTime(9_999);
    expect(lines).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'progress', pipeline: 'nightly', phase: 'send', rows: 20, records: 15, packets: '3/15' });
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(2);
    p.stop();
    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(2);
  });
});

describe('on a terminal (built CLI under script, rendered by @xterm/headless)', () => {
  it('shows the live line while sending, and leaves the log lines and the summary intact', async () => {
    emulator = await startEmulator({
      fixture: { auth: { login: 'admin', password: 'pw', secretKeys: [] }, subscriptions: Array.from({ length: 6 }, (_, i) => ({ id: i + 1, name: `s${i + 1}.example` })), sites: [], plans: [], traffic: [] },
      port: 0,
      faults: { latencyMs: 150 },
    });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-bar-'));
    writeFileSync(path.join(dir, 'in.csv'), `date,domain,smtp_in\n${Array.from({ length: 6 }, (_, i) => `2026-11-01,s${i + 1}.example,${i + 1}`).join('\n')}\n`);
    writeFileSync(path.join(dir, 'p.json'), JSON.stringify({ source: { type: 'csv', path: 'in.csv' }, target: { type: 'plesk', url: emulator.url, batchSize: 1, concurrency: 1 } }));
    const cmd = `stty cols 160 rows 50; ${process.execPath} ${CLI} run ${path.join(dir, 'p.json')} --state ${path.join(dir, 'state')}`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw', NO_COLOR: '' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let raw = '';
    child.stdout.on('data', (d: Buffer) => (raw += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, raw).toBe(0);
    // The live line was drawn (cursor to column 1, erase line) with the counters.
    expect(raw).toMatch(/p [█░]+ send +rows 6 · records 6 · packets \d\/6 · [\d.]+ nodes\/s/);

    const term = new xterm.Terminal({ cols: 160, rows: 50, allowProposedApi: true });
    await new Promise<void>((resolve) => term.write(raw, resolve));
    const screen: string[] = [];
    for (let i = 0; i < term.buffer.active.length; i++) screen.push(term.buffer.active.getLine(i)!.translateToString(true));
    const text = screen.filter((l) => l !== '');
    // Every log line begins a line of its own; no line holds a bar and something else.
    expect(text.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: source read$/.test(l))).toBe(true);
    expect(text.filter((l) => l.includes('nodes/s'))).toEqual([]);
    // The summary, line by line, as summaryText writes it.
    const at = text.findIndex((l) => l.startsWith('traffic-import OK'));
    expect(text.slice(at)).toEqual([
      `traffic-import OK — ${path.join(dir, 'p.json')}`,
      '  records   read 6, rejected 0, skipped (window) 0, per target/day 6',
      '  targets   resolved 6, unresolved 0',
      '  nodes     unchanged 0, sent 6, applied 6, failed 0',
      '  packets   6',
      '  exit code 0',
    ]);
  });
});
