import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { cpanelSourceSchema } from '../../src/readers/cpanel/index.js';
import { writeCpanelSamples } from '../../src/stand-ins/cpanel-samples/samples.js';
import { PIPELINES, SAMPLES, withTempDir } from './helpers.js';

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  }
  return out.sort();
}

function dumpDb(file: string): unknown {
  const db = new Database(file, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]);
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all()]));
  } finally {
    db.close();
  }
}

async function archiveContents(file: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const pending: Promise<void>[] = [];
  await tar.t({
    file,
    onReadEntry: (e) => {
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      pending.push(
        new Promise<void>((done) =>
          e.on('end', () => {
            out[e.path] = Buffer.concat(chunks).toString('utf8');
            done();
          }),
        ),
      );
    },
  });
  await Promise.all(pending);
  return out;
}

describe('cpanel samples and pipelines', () => {
  it('the committed samples are what writeCpanelSamples() produces', async () => {
    await withTempDir(async (dir) => {
      await writeCpanelSamples(dir);
      const committed = (await files(SAMPLES)).filter((f) => !f.startsWith('whm-tls/'));
      expect(await files(dir)).toEqual(committed);
      for (const f of committed) {
        if (f.endsWith('.sqlite')) expect(dumpDb(join(dir, f)), f).toEqual(dumpDb(join(SAMPLES, f)));
        else if (f.endsWith('.tar.gz')) expect(await archiveContents(join(dir, f)), f).toEqual(await archiveContents(join(SAMPLES, f)));
        else expect(await readFile(join(dir, f), 'utf8'), f).toBe(await readFile(join(SAMPLES, f), 'utf8'));
      }
    });
  });

  it('every cpanel pipeline source is valid; unknown keys are errors', async () => {
    for (const name of ['cpanel-sqlite.json', 'cpanel-backup.json', 'cpanel-legacy.json', 'cpanel-api.json']) {
      const doc = JSON.parse(await readFile(join(PIPELINES, name), 'utf8')) as { source: unknown; target: { type: string } };
      const parsed = cpanelSourceSchema.safeParse(doc.source);
      expect(parsed.success, `${name}: ${parsed.error?.message}`).toBe(true);
      expect(doc.target.type).toBe('plesk');
    }
    expect(cpanelSourceSchema.safeParse({ type: 'cpanel', from: 'sqlite', path: 'x', colour: 'red' }).success).toBe(false);
    // The shared cPanel keys are accepted by every `from` (issue 9 §8); legacy has no use for interval (docs).
    expect(cpanelSourceSchema.safeParse({ type: 'cpanel', from: 'legacy', path: 'x', interval: 'hourly', timezone: 'UTC' }).success).toBe(true);
    expect(cpanelSourceSchema.safeParse({ type: 'cpanel', from: 'legacy', path: 'x', days: 3 }).success).toBe(false);
    expect(cpanelSourceSchema.safeParse({ type: 'cpanel', from: 'ftp', path: 'x' }).success).toBe(false);
    expect(cpanelSourceSchema.safeParse({ type: 'cpanel', from: 'sqlite', path: 'x', timezone: 'Mars/Olympus' }).success).toBe(false);
    expect(cpanelSourceSchema.safeParse({ type: 'cpanel', from: 'api', url: 'ftp://whm.example.com' }).success).toBe(false);
  });

  it('fills the documented defaults', () => {
    expect(cpanelSourceSchema.parse({ type: 'cpanel', from: 'api', url: 'https://whm.example.com' })).toEqual({
      type: 'cpanel', from: 'api', url: 'https://whm.example.com', days: 7, interval: 'daily', timezone: 'UTC',
      usersPath: '/var/cpanel/users', // shared by every `from`; no effect with api (listaccts names the domain)
      concurrency: 2, insecureTls: false,
      // The shared HTTP vocabulary (src/http); the older `retries: 3, timeoutMs: 60000` are the same settings.
      timeouts: { connectMs: 30000, headersMs: 60000, bodyMs: 60000 },
      retry: { attempts: 4, minDelayMs: 500, maxDelayMs: 10000 },
    });
    // The older names still work, folded into the new ones.
    expect(cpanelSourceSchema.parse({ type: 'cpanel', from: 'api', retries: 2, timeoutMs: 90000 })).toMatchObject({
      timeouts: { connectMs: 30000, headersMs: 90000, bodyMs: 90000 }, retry: { attempts: 3, minDelayMs: 500, maxDelayMs: 10000 },
    });
    expect(cpanelSourceSchema.safeParse({ type: 'cpanel', from: 'api', retries: 2, retry: { attempts: 5 } }).error?.issues[0]?.message)
      .toBe('"retries" is the older name of "retry.attempts": give one of them');
    expect(cpanelSourceSchema.parse({ type: 'cpanel', from: 'sqlite', path: '/var/cpanel/bandwidth' })).toEqual({
      type: 'cpanel', from: 'sqlite', path: '/var/cpanel/bandwidth', usersPath: '/var/cpanel/users', interval: 'daily', timezone: 'UTC',
    });
  });
});
