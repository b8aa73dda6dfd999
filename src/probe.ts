// `traffic-import probe`: the live check of docs/reference/plesk-api-notes.md §3.6, because no public source says whether
// set_traffic replaces or adds to a day's values, nor whether it resets http/ftp of that day.
// get_traffic D → set_traffic X → get_traffic → set_traffic X again → get_traffic → restore.
// Run it on a throw-away subscription: it writes to that day and then puts the old values back.

import type { Logger } from 'pino';
import type { Pipeline } from './config.js';
import { EXIT, TiError, type ExitCode } from './errors.js';
import { mailOf, sameMail, zeroTraffic, type FullTraffic, type Mail } from './model.js';
import { createPleskClient } from './plesk/create.js';
import type { PleskApi } from './plesk/types.js';

export interface ProbeResult {
  semantics: 'replace' | 'add' | 'unknown';
  httpFtpReset: boolean;
  before: Mail;
  afterFirst: Mail;
  afterSecond: Mail;
  restored: boolean;
}


export async function probeSemantics(api: PleskApi, operator: 'webspace' | 'site', domId: number, date: string): Promise<ProbeResult> {
  const read = async (): Promise<FullTraffic> => (await api.getTraffic(operator, [domId], date, date)).get(domId)?.get(date) ?? zeroTraffic();
  const set = async (v: Mail) => {
    const outcome = await api.setTraffic(operator, [{ domId, date, ...v }], { idempotent: false });
    if (outcome.kind !== 'applied' || outcome.results[0]?.status !== 'ok') {
      const why = outcome.kind === 'applied' ? `[${outcome.results[0]?.errcode}] ${outcome.results[0]?.errtext}` : outcome.error;
      throw new TiError('TI_PLESK_RESPONSE', `probe set_traffic for dom_id ${domId} ${date} failed: ${why}`);
    }
  };
  const day0 = await read();
  const before = mailOf(day0);
  // Small values: on a panel that adds, they stay in the day if it cannot be restored.
  const x: Mail = { smtp_in: 1n, smtp_out: 2n, pop3_imap_in: 3n, pop3_imap_out: 4n };
  await set(x);
  const day1 = await read();
  await set(x);
  const day2 = await read();
  const afterFirst = mailOf(day1);
  const afterSecond = mailOf(day2);
  const doubled: Mail = { smtp_in: before.smtp_in + 2n * x.smtp_in, smtp_out: before.smtp_out + 2n * x.smtp_out,
    pop3_imap_in: before.pop3_imap_in + 2n * x.pop3_imap_in, pop3_imap_out: before.pop3_imap_out + 2n * x.pop3_imap_out };
  const semantics = sameMail(afterSecond, x) ? 'replace' : sameMail(afterSecond, doubled) ? 'add' : 'unknown';
  const httpFtpReset = (['http_in', 'http_out', 'ftp_in', 'ftp_out'] as const).some((f) => day0[f] !== 0n && day2[f] === 0n);
  // Put the day back as it was.
  let restored = false;
  if (semantics === 'replace') {
    await set(before);
    restored = true;
  } else if (semantics === 'add') {
    // The XML API has no "sub"; a negative value may be refused (the emulator answers 1019, as for any
    // out-of-range value): then the day keeps 2 × x and the operator is told.
    try {
      await set({ smtp_in: -2n * x.smtp_in, smtp_out: -2n * x.smtp_out, pop3_imap_in: -2n * x.pop3_imap_in, pop3_imap_out: -2n * x.pop3_imap_out });
      restored = true;
    } catch (err) {
      if (!(err instanceof TiError)) throw err;
    }
  }
  return { semantics, httpFtpReset, before, afterFirst, afterSecond, restored };
}

export async function runProbe(opts: { pipeline: Pipeline; domId: number; date: string; env: NodeJS.ProcessEnv; log: Logger }): Promise<ExitCode> {
  const { pipeline: p } = opts;
  const operator = p.target.operator === 'site' ? 'site' : 'webspace';
  // One packet at a time: the probe's steps depend on each other.
  const api = (await createPleskClient(p, opts.env, opts.log, { required: true, concurrency: 1 }))!;
  const url = api.endpoint;
  try {
    const r = await probeSemantics(api, operator, opts.domId, opts.date);
    const str = (m: Mail) => `smtp_in ${m.smtp_in}, smtp_out ${m.smtp_out}, pop3_imap_in ${m.pop3_imap_in}, pop3_imap_out ${m.pop3_imap_out}`;
    process.stdout.write(
      `set_traffic on ${url} (${operator} ${opts.domId}, ${opts.date}):\n` +
        `  before          ${str(r.before)}\n  after 1st set   ${str(r.afterFirst)}\n  after 2nd set   ${str(r.afterSecond)}\n` +
        `  semantics       ${r.semantics}${r.semantics === 'add' ? '  → set target.setTrafficSemantics: "add"' : ''}\n` +
        `  http/ftp reset  ${r.httpFtpReset ? 'yes (set replaces the whole day row)' : 'no'}\n` +
        `  restored        ${r.restored ? 'yes' : `NO: the day now holds ${str(r.afterSecond)}; set it back by hand (plesk bin traffic --sub)`}\n`,
    );
    return r.semantics === 'unknown' ? EXIT.PARTIAL : EXIT.OK;
  } finally {
    await api.close();
  }
}
