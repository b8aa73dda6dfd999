import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Ledger, ledgerIdOf, listRunsInDir, type Intent } from '../../src/ledger/index.js';
import { TiError } from '../../src/errors.js';
import { captureLogger, counters, deadPid, intent, removeTempDirs, tempDir } from './helpers.js';

const opened: Ledger[] = [];
async function open(stateDir: string, pipeline: string, opts: Parameters<typeof Ledger.open>[2] = {}): Promise<Ledger> {
  const l = await Ledger.open(stateDir, pipeline, opts);
  opened.push(l);
  return l;
}
afterAll(removeTempDirs);
afterEach(async () => {
  for (const l of opened.splice(0)) await l.close();
  vi.restoreAllMocks();
});

function setup(): { dir: string; pipe: string } {
  const base = tempDir();
  const pipe = path.join(base, 'pipelines', 'cpanel nightly.json');
  fs.mkdirSync(path.dirname(pipe), { recursive: true });
  fs.writeFileSync(pipe, '{}');
  return { dir: path.join(base, 'state'), pipe };
}

function lines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

describe('ledger id and files', () => {
  it('one journal per panel: named from the panel host and a hash of the panel key', async () => {
    const { dir } = setup();
    const panel = 'https://plesk.example.com:8443/enterprise/control/agent.php';
    const l = await open(dir, panel);
    expect(l.ledgerId).toMatch(/^panel-plesk\.example\.com-[0-9a-f]{10}$/);
    expect(l.ledgerId).toBe(ledgerIdOf(panel));
    expect(l.journalPath).toBe(path.join(dir, `${l.ledgerId}.jsonl`));
    expect(fs.existsSync(dir)).toBe(true); // mkdir -p
    // Another panel on the same host (another port): another ledger.
    expect(ledgerIdOf('https://plesk.example.com:8880/enterprise/control/agent.php')).not.toBe(l.ledgerId);
    const header = JSON.parse(lines(l.journalPath)[0]!) as Record<string, unknown>;
    expect(header).toMatchObject({ t: 'header', v: 2, panel, ledgerId: l.ledgerId });
  });
});

describe('intents, commit, abort, replay', () => {
  it('replays applied slices, open intents and runs after reopening', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    await a.acquireLock();
    const run = a.startRun({ pipeline: pipe, window: { from: '2026-01-01', to: '2026-01-31' }, mode: 'additive', dryRun: false });
    const p1 = [intent('s1', 1, '2026-01-02', 100, 250), intent('s1', 2, '2026-01-02', 0, 7), intent('s1', 11, '2026-01-02', 5, 9, 'site')];
    a.writeIntents(p1);
    expect(a.openIntents()).toHaveLength(3);
    a.commit([p1[0]!, p1[2]!]);
    a.abort([p1[1]!]);
    const big = 9223372036854775000n;
    const p2: Intent[] = [{ slice: 's1', operator: 'webspace', domId: 3, date: '2026-01-03', before: counters(1, 2, 3, 4), after: { smtp_in: big, smtp_out: 2n, pop3_imap_in: 3n, pop3_imap_out: 4n } }];
    a.writeIntents(p2);
    a.finishRun(run.id, 'partial', { nodes: { applied: 2, failed: 1 }, bytes: 12345678901234567890n });
    await a.close();

    const b = await open(dir, pipe);
    expect(b.isApplied('s1', 'webspace', 1, '2026-01-02')).toBe(true);
    expect(b.isApplied('s1', 'site', 11, '2026-01-02')).toBe(true);
    expect(b.isApplied('s1', 'webspace', 2, '2026-01-02')).toBe(false); // aborted
    expect(b.isApplied('s1', 'webspace', 11, '2026-01-02')).toBe(false); // other operator
    expect(b.isApplied('s2', 'webspace', 1, '2026-01-02')).toBe(false); // other slice
    expect(b.isApplied('s1', 'webspace', 1, '2026-01-03')).toBe(false); // other day
    expect(b.appliedCount).toBe(2);
    const open2 = b.openIntents();
    expect(open2).toHaveLength(1);
    expect(open2[0]).toMatchObject({ slice: 's1', operator: 'webspace', domId: 3, date: '2026-01-03', runId: run.id });
    expect(open2[0]!.after.smtp_in).toBe(big);
    expect(open2[0]!.before).toEqual(counters(1, 2, 3, 4));
    const runs = b.runs();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      id: run.id, pipeline: pipe, status: 'partial', mode: 'additive', dryRun: false, pid: process.pid,
      window: { from: '2026-01-01', to: '2026-01-31' },
      counts: { nodes: { applied: 2, failed: 1 }, bytes: '12345678901234567890' },
    });
    expect(runs[0]!.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('keeps intents open across a simulated crash (written, never committed)', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    await a.acquireLock();
    a.startRun({ pipeline: pipe, window: {}, mode: 'additive', dryRun: false });
    const packet = [intent('h10', 1, '2026-02-01', 10, 20), intent('h10', 2, '2026-02-01', 0, 5)];
    a.writeIntents(packet);
    // Crash: no commit, no close; a new instance reads the file as it is on disk.
    const b = await open(dir, pipe);
    expect(b.openIntents().map((i) => [i.domId, i.before.smtp_in, i.after.smtp_in])).toEqual([[1, 10n, 20n], [2, 0n, 5n]]);
    expect(b.isApplied('h10', 'webspace', 1, '2026-02-01')).toBe(false);
  });

  it('a later intent for the same node supersedes an open one; commit of an unwritten node still marks it applied', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    await a.acquireLock();
    a.writeIntents([intent('s', 1, '2026-01-01', 1, 2)]);
    a.writeIntents([intent('s', 1, '2026-01-01', 5, 6)]);
    expect(a.openIntents().map((i) => i.before.smtp_in)).toEqual([5n]);
    a.commit([{ slice: 's', operator: 'site', domId: 12, date: '2026-01-05' }]);
    expect(a.isApplied('s', 'site', 12, '2026-01-05')).toBe(true);
    await a.close();
    const b = await open(dir, pipe);
    expect(b.openIntents().map((i) => i.before.smtp_in)).toEqual([5n]);
    expect(b.isApplied('s', 'site', 12, '2026-01-05')).toBe(true);
  });

  it('slices with separators in them do not collide', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    await a.acquireLock();
    a.commit([{ slice: 'a|webspace|1', operator: 'webspace', domId: 2, date: '2026-01-01' }]);
    expect(a.isApplied('a|webspace|1', 'webspace', 2, '2026-01-01')).toBe(true);
    expect(a.isApplied('a', 'webspace', 1, '2026-01-01')).toBe(false);
    await a.close();
    const b = await open(dir, pipe);
    expect(b.isApplied('a|webspace|1', 'webspace', 2, '2026-01-01')).toBe(true);
  });

  it('writes a whole packet as one line with one fsync', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    await a.acquireLock();
    const before = lines(a.journalPath).length;
    const packet = Array.from({ length: 1000 }, (_, i) => intent('s', i + 1, '2026-03-01', i, i + 10));
    const fsyncs = vi.spyOn(fs, 'fsyncSync');
    a.writeIntents(packet);
    expect(fsyncs).toHaveBeenCalledTimes(1);
    a.commit(packet);
    expect(fsyncs).toHaveBeenCalledTimes(2);
    a.abort([]);
    a.commit([]);
    a.writeIntents([]);
    expect(fsyncs).toHaveBeenCalledTimes(2); // empty batches write nothing
    expect(lines(a.journalPath).length).toBe(before + 2);
    expect(a.appliedCount).toBe(1000);
  });

  it('refuses mutations without the lock and bad intents', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    const err = (() => { try { a.writeIntents([intent('s', 1, '2026-01-01', 0, 1)]); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(TiError);
    expect((err as TiError).code).toBe('TI_INTERNAL');
    expect(() => a.commit([intent('s', 1, '2026-01-01', 0, 1)])).toThrow(/needs the ledger lock/);
    await a.acquireLock();
    expect(() => a.writeIntents([intent('s', 1, '2026-02-30', 0, 1)])).toThrow(/date must be YYYY-MM-DD/);
    expect(() => a.writeIntents([intent('s', 0, '2026-02-01', 0, 1)])).toThrow(/dom_id/);
    const neg = intent('s', 1, '2026-02-01', 0, 1);
    neg.after.smtp_out = -1n;
    expect(() => a.writeIntents([neg])).toThrow(/after\.smtp_out/);
    expect(a.openIntents()).toEqual([]); // nothing half-written
  });
});

describe('torn and corrupt journals', () => {
  async function seeded(): Promise<{ dir: string; pipe: string; file: string }> {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    await a.acquireLock();
    a.writeIntents([intent('s', 1, '2026-01-01', 0, 1), intent('s', 2, '2026-01-01', 0, 2)]);
    a.commit([intent('s', 1, '2026-01-01', 0, 1)]);
    const file = a.journalPath;
    await a.close();
    return { dir, pipe, file };
  }

  it('cuts a torn last line, warns, and keeps appending cleanly', async () => {
    const { dir, pipe, file } = await seeded();
    const goodSize = fs.statSync(file).size;
    fs.appendFileSync(file, '{"t":"commit","at":"2026-01-01T00:00:00Z","nodes":[["s","webspace",2,"2026-01');
    const { log, lines: logged } = captureLogger();
    const b = await open(dir, pipe, { logger: log });
    expect(b.isApplied('s', 'webspace', 2, '2026-01-01')).toBe(false); // the torn commit did not happen
    expect(b.openIntents().map((i) => i.domId)).toEqual([2]);
    expect(fs.statSync(file).size).toBe(goodSize);
    expect(logged.some((l) => l.level === 40 && String(l.msg).includes('torn'))).toBe(true);
    await b.acquireLock();
    b.commit([intent('s', 2, '2026-01-01', 0, 2)]);
    await b.close();
    const c = await open(dir, pipe);
    expect(c.isApplied('s', 'webspace', 2, '2026-01-01')).toBe(true);
    expect(c.openIntents()).toEqual([]);
  });

  it('also cuts a torn tail of NUL bytes (what a power loss can leave)', async () => {
    const { dir, pipe, file } = await seeded();
    const goodSize = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.alloc(300));
    const b = await open(dir, pipe);
    expect(fs.statSync(file).size).toBe(goodSize);
    expect(b.isApplied('s', 'webspace', 1, '2026-01-01')).toBe(true);
  });

  it('accepts a complete last record that lacks its newline, and adds the newline', async () => {
    const { dir, pipe, file } = await seeded();
    fs.appendFileSync(file, '{"t":"commit","at":"2026-01-01T00:00:00Z","nodes":[["s","webspace",2,"2026-01-01"]]}');
    const b = await open(dir, pipe);
    expect(b.isApplied('s', 'webspace', 2, '2026-01-01')).toBe(true);
    expect(fs.readFileSync(file, 'utf8').endsWith(']]}\n')).toBe(true);
    await b.acquireLock();
    b.commit([{ slice: 's', operator: 'webspace', domId: 3, date: '2026-01-01' }]);
    await b.close();
    const c = await open(dir, pipe);
    expect(c.isApplied('s', 'webspace', 3, '2026-01-01')).toBe(true);
  });

  it('a corrupt line in the middle is TI_STATE naming the file and line', async () => {
    const { dir, pipe, file } = await seeded();
    const all = lines(file);
    all.splice(2, 0, '{"t":"commit","at":"x","nodes":[["s","webspace",2,"2026-01-01"]'); // torn, but not last
    fs.writeFileSync(file, `${all.join('\n')}\n`);
    const err = await Ledger.open(dir, pipe).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TiError);
    expect((err as TiError).code).toBe('TI_STATE');
    expect((err as TiError).message).toContain(`${file} line 3 is corrupt`);
    expect((err as TiError).details).toEqual({ file, line: 3 });
  });

  it('a well-formed JSON line of the wrong shape in the middle is TI_STATE too', async () => {
    const { dir, pipe, file } = await seeded();
    const all = lines(file);
    all.splice(1, 0, '{"t":"commit","at":"x","nodes":[["s","mailbox",2,"2026-01-01"]]}');
    fs.writeFileSync(file, `${all.join('\n')}\n`);
    await expect(Ledger.open(dir, pipe)).rejects.toThrow(/line 2 is corrupt: not a journal record/);
  });

  it('refuses a journal from a newer version', async () => {
    const { dir, pipe, file } = await seeded();
    const all = lines(file);
    all[0] = all[0]!.replace('"v":2', '"v":3');
    fs.writeFileSync(file, `${all.join('\n')}\n`);
    await expect(Ledger.open(dir, pipe)).rejects.toThrow(/newer traffic-import \(journal version 3/);
  });

  it('refuses a journal that belongs to another panel', async () => {
    const { dir, pipe, file } = await seeded();
    const other = 'https://other.example:8443/enterprise/control/agent.php';
    fs.copyFileSync(file, path.join(dir, `${ledgerIdOf(other)}.jsonl`));
    await expect(Ledger.open(dir, other)).rejects.toThrow(/belongs to panel .*cpanel nightly\.json, not https:\/\/other\.example/);
  });
});

describe('runs', () => {
  it('lists newest first, with limit', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    await a.acquireLock();
    const r1 = a.startRun({ pipeline: pipe, window: {}, mode: 'absolute', dryRun: false });
    a.finishRun(r1.id, 'ok', { n: 1 });
    const r2 = a.startRun({ pipeline: pipe, window: {}, mode: 'absolute', dryRun: false });
    a.finishRun(r2.id, 'failed', { n: 2 });
    const r3 = a.startRun({ pipeline: pipe, window: { from: '2026-01-01' }, mode: 'absolute', dryRun: false });
    expect(new Set([r1.id, r2.id, r3.id]).size).toBe(3);
    expect(r3.id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(a.runs().map((r) => [r.id, r.status])).toEqual([[r3.id, 'running'], [r2.id, 'failed'], [r1.id, 'ok']]);
    expect(a.runs(2).map((r) => r.id)).toEqual([r3.id, r2.id]);
    expect(() => a.finishRun(r1.id, 'ok', {})).toThrow(/already finished/);
    expect(() => a.finishRun('nope', 'ok', {})).toThrow(/unknown run/);
  });

  it('takes the run id named in the lock', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    await a.acquireLock();
    const run = a.startRun({ pipeline: pipe, window: {}, mode: 'absolute', dryRun: false });
    const owner = fs.readdirSync(a.lockPath).find((n) => n.startsWith('owner-'))!;
    expect(JSON.parse(fs.readFileSync(path.join(a.lockPath, owner), 'utf8'))).toMatchObject({ runId: run.id, pid: process.pid });
  });

  it('shows a run whose process is gone as interrupted, and the next locked run closes it', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    await a.acquireLock();
    const locked = a.startRun({ pipeline: pipe, window: {}, mode: 'absolute', dryRun: false });
    // A lockless run (a dry run) of a process that has exited.
    const pid = await deadPid();
    fs.appendFileSync(a.journalPath, `${JSON.stringify({ t: 'run', id: '20200101T000000Z-dead00', pipeline: pipe, startedAt: '2020-01-01T00:00:00.000Z', window: {}, mode: 'absolute', dryRun: true, pid, host: (await import('node:os')).hostname() })}\n`);
    // A lockless run of this very process is alive.
    const b = await open(dir, pipe);
    const mine = b.startRun({ pipeline: pipe, window: {}, mode: 'absolute', dryRun: true });
    expect(Object.fromEntries(b.runs().map((r) => [r.id, r.status]))).toEqual({
      [locked.id]: 'running', '20200101T000000Z-dead00': 'interrupted', [mine.id]: 'running',
    });
    // Released without finishing: no longer holds its lock → interrupted.
    await a.releaseLock();
    expect(b.runs().find((r) => r.id === locked.id)!.status).toBe('interrupted');
    // The next run under the lock records both as interrupted in the journal.
    const c = await open(dir, pipe);
    await c.acquireLock();
    const finishes = lines(c.journalPath).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.t === 'finish');
    expect(finishes.map((f) => [f.id, f.status])).toEqual([[locked.id, 'interrupted'], ['20200101T000000Z-dead00', 'interrupted']]);
    expect(c.runs().find((r) => r.id === mine.id)!.status).toBe('running');
  });

  it('listRunsInDir merges every pipeline of a state dir, newest first', async () => {
    const { dir, pipe } = setup();
    const pipe2 = path.join(path.dirname(pipe), 'opensrs.json');
    const a = await open(dir, pipe);
    const b = await open(dir, pipe2);
    await a.acquireLock();
    await b.acquireLock();
    const ids: string[] = [];
    const statuses = ['ok', 'partial', 'failed'] as const;
    for (let i = 0; i < 3; i++) {
      for (const [l, p] of [[a, pipe], [b, pipe2]] as const) {
        const r = l.startRun({ pipeline: p, window: { to: `2026-01-0${i + 1}` }, mode: 'absolute', dryRun: false });
        l.finishRun(r.id, statuses[i]!, { i });
        ids.push(r.id);
        await new Promise((res) => setTimeout(res, 3)); // distinct start times
      }
    }
    const running = b.startRun({ pipeline: pipe2, window: {}, mode: 'cumulative', dryRun: false });
    const list = listRunsInDir(dir);
    expect(list.map((r) => r.id)).toEqual([running.id, ...ids.reverse()]);
    expect(list[0]).toMatchObject({ status: 'running', pipeline: pipe2, mode: 'cumulative' });
    expect(list[1]).toMatchObject({ pipeline: pipe2, status: 'failed', counts: { i: 2 }, window: { to: '2026-01-03' } });
    expect(list[2]).toMatchObject({ pipeline: pipe, status: 'failed', counts: { i: 2 } });
    expect(list[6]).toMatchObject({ pipeline: pipe, status: 'ok', counts: { i: 0 }, window: { to: '2026-01-01' } });
    expect(listRunsInDir(dir, 2).map((r) => r.id)).toEqual([list[0]!.id, list[1]!.id]);
    await b.releaseLock();
    expect(listRunsInDir(dir, 1)[0]).toMatchObject({ id: running.id, status: 'interrupted' });
    expect(listRunsInDir(path.join(dir, 'nope'))).toEqual([]);
  });

  it('listRunsInDir tolerates a torn last line and reports a corrupt run line', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    const r = a.startRun({ pipeline: pipe, window: {}, mode: 'absolute', dryRun: true });
    a.finishRun(r.id, 'ok', {});
    await a.close();
    fs.appendFileSync(a.journalPath, '{"t":"run","id":"x","pipel');
    expect(listRunsInDir(dir).map((x) => x.id)).toEqual([r.id]);
    const all = lines(a.journalPath);
    all.splice(1, 0, '{"t":"run","id":');
    fs.writeFileSync(a.journalPath, `${all.join('\n')}\n`);
    expect(() => listRunsInDir(dir)).toThrow(/line 2 is corrupt/);
  });
});

describe('another process appends between open and lock', () => {
  it('acquireLock re-reads the journal so slices applied meanwhile are seen', async () => {
    const { dir, pipe } = setup();
    const early = await open(dir, pipe); // opened, not yet locked
    const other = await open(dir, pipe);
    await other.acquireLock();
    other.writeIntents([intent('s', 1, '2026-01-01', 0, 1), intent('s', 2, '2026-01-01', 0, 1)]);
    other.commit([intent('s', 1, '2026-01-01', 0, 1)]);
    await other.releaseLock();
    expect(early.isApplied('s', 'webspace', 1, '2026-01-01')).toBe(false); // stale view
    await early.acquireLock();
    expect(early.isApplied('s', 'webspace', 1, '2026-01-01')).toBe(true);
    expect(early.openIntents().map((i) => i.domId)).toEqual([2]);
  });
});

describe('read-only (dry runs)', () => {
  it('reads without creating, writing or cutting anything', async () => {
    const { dir, pipe } = setup();
    const none = await open(dir, pipe, { readOnly: true });
    expect(fs.existsSync(dir)).toBe(false);
    expect(none.isApplied('s', 'webspace', 1, '2026-01-01')).toBe(false);
    expect(none.runs()).toEqual([]);
    const a = await open(dir, pipe);
    await a.acquireLock();
    a.writeIntents([intent('s', 1, '2026-01-01', 0, 1), intent('s', 2, '2026-01-01', 0, 1)]);
    a.commit([intent('s', 1, '2026-01-01', 0, 1)]);
    await a.close();
    fs.appendFileSync(a.journalPath, '{"t":"commit","at":"x","no');
    const size = fs.statSync(a.journalPath).size;
    const ro = await open(dir, pipe, { readOnly: true });
    expect(ro.readOnly).toBe(true);
    expect(ro.isApplied('s', 'webspace', 1, '2026-01-01')).toBe(true);
    expect(ro.openIntents().map((i) => i.domId)).toEqual([2]);
    expect(fs.statSync(a.journalPath).size).toBe(size); // torn tail left for the next writer to cut
    await expect(ro.acquireLock()).rejects.toThrow(/read-only/);
    expect(() => ro.startRun({ pipeline: pipe, window: {}, mode: 'additive', dryRun: true })).toThrow(/read-only/);
    expect(() => ro.commit([intent('s', 2, '2026-01-01', 0, 1)])).toThrow(/read-only/);
    expect(fs.existsSync(a.lockPath)).toBe(false);
  });
});

describe('compaction', () => {
  it('rewrites a large journal to its live content without changing what it says', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe, { keepRuns: 2 });
    await a.acquireLock();
    const ids: string[] = [];
    for (let k = 0; k < 5; k++) {
      const r = a.startRun({ pipeline: pipe, window: {}, mode: 'additive', dryRun: false });
      ids.push(r.id);
      const packet = Array.from({ length: 200 }, (_, i) => intent(`slice${k}`, i + 1, '2026-01-01', i, i + 1));
      a.writeIntents(packet);
      a.commit(packet.slice(0, 150));
      a.abort(packet.slice(150, 190)); // 10 stay open per slice
      if (k < 4) a.finishRun(r.id, 'ok', { k: BigInt(k) });
    }
    await a.close();
    const sizeBefore = fs.statSync(a.journalPath).size;

    const { log, lines: logged } = captureLogger();
    const b = await open(dir, pipe, { compactAtBytes: 10_000, keepRuns: 2, logger: log });
    const openBefore = b.openIntents();
    await b.acquireLock(); // compacts (and closes the dead 5th run as interrupted first)
    const sizeAfter = fs.statSync(b.journalPath).size;
    expect(sizeAfter).toBeLessThan(sizeBefore * 0.7);
    expect(logged.some((l) => l.msg === 'journal compacted')).toBe(true);
    expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    b.commit([intent('slice0', 195, '2026-01-01', 0, 1)]); // writes after a compaction land in the new file
    await b.close();

    const c = await open(dir, pipe);
    expect(c.appliedCount).toBe(5 * 150 + 1);
    for (let k = 0; k < 5; k++) {
      expect(c.isApplied(`slice${k}`, 'webspace', 150, '2026-01-01')).toBe(true);
      expect(c.isApplied(`slice${k}`, 'webspace', 170, '2026-01-01')).toBe(false);
    }
    expect(c.isApplied('slice0', 'webspace', 195, '2026-01-01')).toBe(true);
    expect(c.openIntents().length).toBe(openBefore.length - 1);
    expect(c.openIntents().length).toBe(49);
    expect(c.openIntents().find((i) => i.slice === 'slice0' && i.domId === 195)).toBeUndefined();
    expect(c.openIntents().find((i) => i.slice === 'slice4' && i.domId === 195)).toMatchObject({ runId: ids[4], before: counters(194), after: counters(195) });
    // Only the newest 2 runs are kept; their statuses and counts survive.
    expect(c.runs().map((r) => [r.id, r.status, r.counts])).toEqual([[ids[4], 'interrupted', undefined], [ids[3], 'ok', { k: '3' }]]);
  });
});
