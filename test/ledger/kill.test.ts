// Real kills: a child process runs the ledger and dies by SIGKILL mid-import; the parent reopens the state.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Ledger, listRunsInDir } from '../../src/ledger/index.js';
import { captureLogger, runChild, removeTempDirs, tempDir } from './helpers.js';

const opened: Ledger[] = [];
afterAll(removeTempDirs);
afterEach(async () => {
  for (const l of opened.splice(0)) await l.close();
});

/** Child side: an additive import of `packets` packets of 3 nodes; packet k's node j is domId 10k+j+1. */
const IMPORT = `
  const counters = (n) => ({ smtp_in: BigInt(n), smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n });
  const l = await L.Ledger.open(args.dir, args.pipe);
  await l.acquireLock();
  const run = l.startRun({ pipeline: args.pipe, window: { from: '2026-04-01', to: '2026-04-01' }, mode: 'additive', dryRun: false });
  console.log('run ' + run.id);
  for (let k = 0; k < args.packets; k++) {
    const packet = [0, 1, 2].map((j) => ({ slice: 'log-10h', operator: 'webspace', domId: 10 * k + j + 1, date: '2026-04-01', before: counters(k), after: counters(k + 100) }));
    l.writeIntents(packet);
    if (k === args.selfKillAfterIntents) process.kill(process.pid, 'SIGKILL');
    l.commit(packet.slice(0, 2)); // node 3 of each packet: Plesk said error
    l.abort(packet.slice(2));
    if (k === args.partialCommitThenKill) {
      const next = [{ slice: 'log-10h', operator: 'site', domId: 999, date: '2026-04-01', before: counters(1), after: counters(2) }];
      l.writeIntents(next);
      console.log('waiting');
      await new Promise(() => setInterval(() => {}, 1000)); // the parent kills us here
    }
  }
`;

describe('SIGKILL mid-import', () => {
  it('a child that kills itself between intents and commit leaves exactly that packet open', async () => {
    const base = tempDir();
    const dir = path.join(base, 'state');
    const pipe = path.join(base, 'additive.json');
    const res = await runChild(IMPORT, { dir, pipe, packets: 5, selfKillAfterIntents: 3 });
    expect(res.signal).toBe('SIGKILL');
    expect(res.stderr).toBe('');
    const runId = /run (\S+)/.exec(res.stdout)![1]!;

    const { log, lines } = captureLogger();
    const l = await Ledger.open(dir, pipe, { logger: log });
    opened.push(l);
    // Exactly packet 3's intents are open, with their values and run.
    expect(l.openIntents().map((i) => [i.domId, i.before.smtp_in, i.after.smtp_in, i.runId])).toEqual([
      [31, 3n, 103n, runId], [32, 3n, 103n, runId], [33, 3n, 103n, runId],
    ]);
    // Packets 0..2: nodes 1 and 2 applied, node 3 aborted; packet 4 never started.
    for (let k = 0; k < 5; k++) {
      for (let j = 1; j <= 3; j++) {
        expect(l.isApplied('log-10h', 'webspace', 10 * k + j, '2026-04-01')).toBe(k < 3 && j < 3);
      }
    }
    expect(listRunsInDir(dir)).toMatchObject([{ id: runId, status: 'interrupted', mode: 'additive' }]);
    // The dead child's lock is taken over; the next run settles the intents.
    await l.acquireLock();
    expect(lines.some((x) => String(x.msg).includes(`taking over the lock of run ${runId}`))).toBe(true);
    const open = l.openIntents();
    l.commit(open.slice(0, 1));
    l.abort(open.slice(1));
    expect(l.openIntents()).toEqual([]);
    expect(l.isApplied('log-10h', 'webspace', 31, '2026-04-01')).toBe(true);
    await l.close();
    const again = await Ledger.open(dir, pipe);
    opened.push(again);
    expect(again.openIntents()).toEqual([]);
    expect(again.runs()).toMatchObject([{ id: runId, status: 'interrupted' }]);
  });

  it('a child killed from outside while waiting on Plesk leaves its last intent open', async () => {
    const base = tempDir();
    const dir = path.join(base, 'state');
    const pipe = path.join(base, 'additive.json');
    let killed = false;
    const res = await runChild(IMPORT, { dir, pipe, packets: 5, partialCommitThenKill: 1 }, (out, child) => {
      if (!killed && out.includes('waiting')) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    expect(res.signal).toBe('SIGKILL');
    const l = await Ledger.open(dir, pipe);
    opened.push(l);
    expect(l.openIntents().map((i) => [i.operator, i.domId])).toEqual([['site', 999]]);
    expect(l.appliedCount).toBe(4); // packets 0 and 1, two nodes each
    // The lock directory is still there (SIGKILL runs no exit hook) and is taken over.
    expect(fs.readdirSync(l.lockPath)).toHaveLength(1);
    await l.acquireLock();
    expect(l.locked).toBe(true);
  });
});
