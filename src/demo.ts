// `traffic-import demo` (npm run demo): the main job on the bundled samples, against the embedded Plesk
// emulator. Starts the emulator with samples/plesk-fixture.json, loopback stand-ins for WHM and OpenSRS
// (the live-API pipelines need something to talk to), runs every pipeline in pipelines/ in name order,
// then prints what the emulator holds. Nothing leaves 127.0.0.1; state goes to a temporary directory.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadPipeline } from './config.js';
import { daysBetween } from './dates.js';
import { EXIT, TiError, type ExitCode } from './errors.js';
import { runPipeline } from './flow.js';
import { startEmulator, type Emulator } from './stand-ins/plesk/index.js';
import { SAMPLE_ACCOUNTS } from './stand-ins/cpanel-samples/samples.js';
import { startWhmMock } from './stand-ins/whm/server.js';
import { startOpensrsMock } from './stand-ins/opensrs/server.js';
import { summaryText } from './run/report.js';
import { TRAFFIC_FIELDS } from './model.js';

/** The days the bundled samples hold. */
export const DEMO_WINDOW = { from: '2026-11-01', to: '2026-11-03' } as const;

const WHM_TOKEN = 'demo-whm-token';
const OPENSRS = { user: 'demo@opensrs.example', password: 'demo-opensrs-password' };

/** OpenSRS sample: bytes received and sent per day for the two OpenSRS-hosted domains. */
function opensrsDays(seed: number): Record<string, { in_size: number; out_size: number }> {
  const out: Record<string, { in_size: number; out_size: number }> = {};
  daysBetween(DEMO_WINDOW.from, DEMO_WINDOW.to).forEach((d, i) => {
    out[d.replaceAll('-', '')] = { in_size: seed * 1_000_003 + i * 7_919, out_size: seed * 500_009 + i * 104_729 };
  });
  return out;
}

function demoFixture(root: string): string {
  return path.join(root, 'samples', 'plesk-fixture.json');
}

export interface DemoServices {
  emulator: Emulator;
  /** Environment for runs: every URL and credential pointing at the loopback services. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** The Plesk emulator with the sample fixture, and WHM and OpenSRS stand-ins serving the sample data. */
export async function startDemoServices(root: string): Promise<DemoServices> {
  const emulator = await startEmulator({ fixture: demoFixture(root), port: 0 });
  const whm = await startWhmMock({ accounts: SAMPLE_ACCOUNTS, token: WHM_TOKEN });
  const opensrs = await startOpensrsMock({ ...OPENSRS, domains: { 'opensrs-one.com': opensrsDays(1), 'opensrs-two.com': opensrsDays(2) } });
  const fx = emulator.dump().auth;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PLESK_URL: emulator.url,
    PLESK_LOGIN: fx.login,
    PLESK_PASSWORD: fx.password,
    PLESK_SECRET_KEY: '',
    WHM_URL: whm.url,
    WHM_USER: 'root',
    WHM_API_TOKEN: WHM_TOKEN,
    OPENSRS_URL: opensrs.url,
    OPENSRS_USER: OPENSRS.user,
    OPENSRS_PASSWORD: OPENSRS.password,
    OPENSRS_TOKEN: '',
  };
  return { emulator, env, close: async () => void (await Promise.all([emulator.close(), whm.close(), opensrs.close()])) };
}

export async function runDemo(opts: { root: string; keepRunning: boolean; log: Logger; out?: NodeJS.WritableStream }): Promise<ExitCode> {
  const out = opts.out ?? process.stdout;
  const fixture = demoFixture(opts.root);
  const pipelinesDir = path.join(opts.root, 'pipelines');
  const state = mkdtempSync(path.join(os.tmpdir(), 'traffic-import-demo-'));
  const services = await startDemoServices(opts.root);
  const { emulator, env } = services;
  let worst: ExitCode = EXIT.OK;
  try {
    out.write(`Plesk emulator on ${emulator.url} (fixture ${path.relative(process.cwd(), fixture)}); days ${DEMO_WINDOW.from}..${DEMO_WINDOW.to}\n\n`);
    const files = readdirSync(pipelinesDir).filter((f) => f.endsWith('.json')).sort();
    for (const f of files) {
      const pipeline = loadPipeline(path.join(pipelinesDir, f));
      pipeline.statePath = path.join(state, path.basename(f, '.json'));
      // The samples' days are fixed: import them whatever today is (closed days only would skip a future date).
      const report = await runPipeline({ pipeline, dryRun: false, env, log: opts.log, ...DEMO_WINDOW, includeOpenDays: true });
      out.write(`${summaryText(report)}\n\n`);
      if (report.exitCode > worst) worst = report.exitCode;
    }
    out.write(holdings(emulator.dump()));
    if (opts.keepRunning) {
      out.write(`\nThe emulator keeps running on ${emulator.url} (login ${env.PLESK_LOGIN}; see the fixture for the password). Ctrl-C stops it.\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } catch (err) {
    if (err instanceof TiError) {
      out.write(`demo: [${err.code}] ${err.message}\n`);
      worst = EXIT.FATAL;
    } else throw err;
  } finally {
    await services.close();
    rmSync(state, { recursive: true, force: true });
  }
  out.write(`\ndemo exit code ${worst}\n`);
  return worst;
}

/** What the emulator holds, one line per subscription/site and day, mail metrics and http for contrast. */
function holdings(dump: ReturnType<Awaited<ReturnType<typeof startEmulator>>['dump']>): string {
  const names = new Map<number, string>();
  for (const s of dump.subscriptions) names.set(s.id, s.name);
  for (const s of dump.sites ?? []) if (!names.has(s.id)) names.set(s.id, s.name);
  const cols = ['dom_id', 'name', 'date', ...TRAFFIC_FIELDS.filter((f) => !f.startsWith('ftp'))];
  const rows = [...(dump.traffic ?? [])]
    .sort((a, b) => a.domId - b.domId || (a.date < b.date ? -1 : 1))
    .map((t) => {
      const rec = t as unknown as Record<string, unknown>;
      return [String(t.domId), names.get(t.domId) ?? '?', t.date, ...cols.slice(3).map((c) => String(rec[c] ?? '0'))];
    });
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((v, i) => (i >= 3 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  return `What the Plesk emulator now holds (bytes):\n${fmt(cols)}\n${rows.map(fmt).join('\n')}\n`;
}
