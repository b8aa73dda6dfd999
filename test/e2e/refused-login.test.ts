// Issue 9 §5: stop at the first refused login. With 30 packets and concurrency 2, the first 1001 answer was
// followed by more packets (each a failed login against the panel's lockout counter), and the report said
// nodes.sent 300 while 200 nodes reached the panel. Now no packet starts after a fatal answer, and nodes.sent
// counts the nodes of requests that were sent. Counted on the emulator's side.

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/config.js';
import { runPipeline } from '../../src/flow.js';
import { silentLogger } from '../../src/log.js';
import { RunEvents } from '../../src/run/events.js';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const DAYS = Array.from({ length: 10 }, (_, i) => `2026-11-${String(i + 1).padStart(2, '0')}`);

describe('a refused login stops the sending at once', () => {
  it('30 packets, concurrency 2: after the first 1001 no packet starts; nodes.sent counts what reached the panel', async () => {
    emulator = await startEmulator({
      fixture: { auth: { login: 'admin', password: 'pw-first', secretKeys: [] }, subscriptions: Array.from({ length: 30 }, (_, i) => ({ id: i + 1, name: `s${i + 1}.example` })) },
      port: 0,
      // Both first packets are on the wire before either answer comes back, as on a real panel.
      faults: { latencyMs: 50 },
    });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-refused-'));
    // 30 subscriptions × 10 days = 300 nodes = 30 packets of 10.
    writeFileSync(path.join(dir, 'in.csv'), ['date,dom_id,smtp_in', ...Array.from({ length: 30 }, (_, i) => DAYS.map((d) => `${d},${i + 1},7`)).flat()].join('\n'));
    const pipeline = parsePipeline({
      source: { type: 'csv', path: 'in.csv' },
      target: { type: 'plesk', url: emulator.url, batchSize: 10, concurrency: 2, retry: { attempts: 3, minDelayMs: 1, maxDelayMs: 5 } },
    }, path.join(dir, 'p.json'));
    // The password is changed on the panel when sending starts (reads done): every set_traffic meets 1001.
    const events = new RunEvents();
    let before = 0;
    events.on('stage.started', ({ stage }) => {
      if (stage !== 'send') return;
      before = emulator!.requests;
      emulator!.state.auth.password = 'rotated';
    });
    const report = await runPipeline({ pipeline, dryRun: false, env: { PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw-first' }, log: silentLogger(), events });
    const received = emulator.requests - before;

    expect(report.exitCode).toBe(2);
    expect(report.error?.code).toBe('TI_PLESK_AUTH');
    // Only the packets already on the wire when the first refusal came: at most one per connection.
    expect(received).toBeGreaterThanOrEqual(1);
    expect(received).toBeLessThanOrEqual(2);
    expect(emulator.setTrafficNodes).toBe(0);
    // The report counts what was sent, not what was planned (300).
    expect(report.nodes.sent).toBe(received * 10);
    expect(report.packets).toBe(received);
  }, 30_000);
});
