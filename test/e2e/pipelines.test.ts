// Every pipeline in pipelines/ runs against a fresh Plesk emulator (samples/plesk-fixture.json; the WHM and
// OpenSRS pipelines against their loopback stand-ins) and the expected values land, exactly.
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPipeline } from '../../src/config.js';
import { DEMO_WINDOW, startDemoServices, type DemoServices } from '../../src/demo.js';
import { runPipeline } from '../../src/flow.js';
import { silentLogger } from '../../src/log.js';
import { ROOT } from '../support/cli.js';

let services: DemoServices | undefined;
afterEach(async () => {
  await services?.close();
  services = undefined;
});

type Expect = Array<[domId: number, date: string, values: Record<string, bigint>]>;

// Values computed by hand from the sample files (and, for example.com 2026-11-01, the fixture's http).
const EXPECTED: Record<string, { sent: number; land: Expect }> = {
  'csv-wide.json': { sent: 15, land: [
    [1, '2026-11-01', { smtp_in: 1048576n + 4096n, smtp_out: 524288n + 2048n, pop3_imap_in: 2097152n + 8192n, pop3_imap_out: 131072n + 1024n, http_in: 4371212365n }],
    [3, '2026-11-03', { smtp_in: 3355443n + 10000n, smtp_out: 1468006n + 5000n }],
    [4, '2026-11-02', { smtp_in: 70000n, pop3_imap_out: 17500n, http_in: 9007199254740993n }],
    [5, '2026-11-01', { smtp_in: 9007199254740993n, smtp_out: 4503599627370496n, pop3_imap_in: 1099511627776n, pop3_imap_out: 549755813888n }],
  ] },
  'csv-long.json': { sent: 15, land: [
    // smtp in/out, pop3 out + imap out → pop3_imap_out, imap in → pop3_imap_in.
    [1, '2026-11-01', { smtp_in: 1048576n, smtp_out: 524288n, pop3_imap_in: 131072n, pop3_imap_out: 2097152n }],
    [3, '2026-11-01', { smtp_in: 3145728n, pop3_imap_out: 786432n }],
    [5, '2026-11-02', { smtp_out: 4503599627370500n }],
  ] },
  'cpanel-sqlite.json': { sent: 6, land: [
    [6, '2026-11-01', { smtp_out: 5242880n, pop3_imap_out: 1048576n + 3145728n, smtp_in: 0n, pop3_imap_in: 0n }],
    [7, '2026-11-03', { smtp_out: 123456789n, pop3_imap_out: 1111n + 2222n }],
  ] },
  'cpanel-backup.json': { sent: 3, land: [
    [6, '2026-11-02', { smtp_out: 2097153n, pop3_imap_out: 524288n + 1572865n }],
  ] },
  'cpanel-legacy.json': { sent: 6, land: [
    [6, '2026-11-03', { smtp_out: 7340032n, pop3_imap_out: 2621441n }],
    [7, '2026-11-02', { smtp_out: 0n, pop3_imap_out: 300003n }],
  ] },
  'cpanel-api.json': { sent: 6, land: [
    [7, '2026-11-01', { smtp_out: 1000001n, pop3_imap_out: 250000n + 750002n }],
  ] },
  'maillog.json': { sent: 5, land: [
    // samples/maillog/days/ (docs/sources/maillog.md, "Sample values"): 11-01 the mail, 11-02 the IMAP/POP3
    // sessions (the fixture's http for alpha kept, its stale mail values replaced), 11-03 the retried message.
    [13, '2026-11-01', { smtp_in: 4429n + 12377n + 2n * 9403n + 1155n, smtp_out: 1667n + 7478n, pop3_imap_in: 0n, pop3_imap_out: 0n }],
    [13, '2026-11-02', { smtp_in: 0n, smtp_out: 0n, pop3_imap_in: 30205n + 86n, pop3_imap_out: 20267n + 23169n, http_in: 7340032n, http_out: 52428800n }],
    [13, '2026-11-03', { smtp_in: 0n, smtp_out: 3689n, pop3_imap_in: 0n, pop3_imap_out: 0n }],
    [14, '2026-11-01', { smtp_in: 12377n + 20162n + 150427n, smtp_out: 6428n + 2n * 20162n + 5188n }],
    [14, '2026-11-02', { smtp_in: 0n, pop3_imap_in: 37n + 37n + 50n, pop3_imap_out: 13716n + 172031n + 847n }],
  ] },
  'opensrs.json': { sent: 6, land: [
    [8, '2026-11-01', { smtp_in: 1000003n, smtp_out: 500009n, pop3_imap_in: 0n, pop3_imap_out: 0n }],
    [9, '2026-11-03', { smtp_in: 2 * 1000003 + 2 * 7919, smtp_out: 2 * 500009 + 2 * 104729 } as unknown as Record<string, bigint>],
  ] },
};

describe('bundled pipelines against the emulator', () => {
  const files = readdirSync(path.join(ROOT, 'pipelines')).filter((f) => f.endsWith('.json')).sort();

  it('covers every pipeline file', () => {
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const file of files) {
    it(`${file}: lands the expected values, and a re-run sends nothing`, async () => {
      services = await startDemoServices(ROOT);
      const pipeline = loadPipeline(path.join(ROOT, 'pipelines', file));
      pipeline.statePath = mkdtempSync(path.join(os.tmpdir(), 'ti-pipelines-'));
      const run = () => runPipeline({ pipeline, dryRun: false, env: services!.env, log: silentLogger(), ...DEMO_WINDOW });
      const report = await run();
      expect(report.error).toBeUndefined();
      expect(report.exitCode).toBe(0);
      const want = EXPECTED[file]!;
      expect(report.nodes).toMatchObject({ sent: want.sent, applied: want.sent, failed: 0 });
      for (const [domId, date, values] of want.land) {
        const held = services.emulator.traffic(domId, date);
        expect(held, `${file} ${domId} ${date}`).toBeDefined();
        for (const [k, v] of Object.entries(values)) expect(held![k as keyof typeof held], `${file} ${domId} ${date} ${k}`).toBe(BigInt(v));
      }
      const again = await run();
      expect(again.nodes).toMatchObject({ sent: 0, unchanged: want.sent });
    });
  }
});
