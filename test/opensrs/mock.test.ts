// The mock answers the way the OMA docs describe (docs/reference/mail-sources.md §1), so the demo and the reader tests
// exercise the real shapes.

import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { renderSummary, startOpensrsMock, type OpensrsMock } from '../../src/stand-ins/opensrs/server.js';
import { PASSWORD, TOKEN, USER } from './helpers.js';

const mocks: OpensrsMock[] = [];
afterEach(async () => {
  await Promise.all(mocks.splice(0).map((m) => m.close()));
});

async function start(): Promise<OpensrsMock> {
  const m = await startOpensrsMock({
    user: USER,
    password: PASSWORD,
    token: TOKEN,
    domains: { 'example.com': { '20111219': { in_size: 10, out_size: 20 }, '20111220': '{"messages": {"in_size": 1}}' } },
  });
  mocks.push(m);
  return m;
}

async function post(url: string, body: unknown): Promise<{ status: number; json: unknown; text: string }> {
  const res = await request(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, json, text };
}

const ask = (credentials: unknown, object = 'example.com') => ({ credentials, type: 'domain', object, by: 'day' });

describe('OpenSRS mock', () => {
  it('answers stats_summary with the full summary shape of seed 002', async () => {
    const m = await start();
    const r = await post(`${m.url}/stats_summary`, ask({ user: USER, password: PASSWORD }));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      success: true,
      summary: {
        '20111219': {
          messages: { autorespond_count: 0, in_size: 10, out_msg_count: 3, in_spam: 1, out_size: 20, forward_count: 0, in_ham: 5, out_rcpt_count: 4, denied: 0 },
          services: { smtprelay: 10, smtpin: 10, imap4: 10, pop3: 10, webmail: 10 },
          deleted_users: { storage_items_stored: 0, storage_current_size: 0 },
          users: { filter: 0, forward: 2, deleted: 1, mailbox: 7, alias: 1 },
          logins: { imap4: 0, pop3: 0, webmail: 0 },
          storage: { items_stored: 6, current_size: 141653 },
        },
        '20111220': { messages: { in_size: 1 } },
      },
    });
  });

  it('accepts a token, refuses bad credentials with error 1, unknown domains with error 2', async () => {
    const m = await start();
    expect((await post(`${m.url}/stats_summary`, ask({ user: USER, token: TOKEN }))).json).toMatchObject({ success: true });
    expect((await post(`${m.url}/stats_summary`, ask({ user: USER, password: 'wrong' }))).json).toEqual({
      success: false,
      error: 'Invalid credentials supplied in request.',
      error_number: 1,
    });
    expect((await post(`${m.url}/stats_summary`, ask({ user: USER, password: PASSWORD }, 'other.com'))).json).toEqual({
      success: false,
      error: 'The requested object does not exist.',
      error_number: 2,
    });
    expect(m.requests).toBe(3);
    expect(m.bodies[1]).toEqual(ask({ user: USER, password: 'wrong' }));
  });

  it('400 for a body that is not JSON, 404 for another method', async () => {
    const m = await start();
    expect((await post(`${m.url}/stats_summary`, '{oops')).status).toBe(400);
    expect((await post(`${m.url}/stats_list`, ask({ user: USER, password: PASSWORD }))).status).toBe(404);
  });

  it('renders the seed kind of malformed JSON, numeric strings and empty strings', () => {
    const days = { '20240101': { in_size: 1, out_size: 2 }, '20240102': { in_size: 3, out_size: 4 } };
    const bad = renderSummary(days, { malformed: true });
    expect(() => JSON.parse(bad)).toThrow(/Expected ',' or '}' after property value/);
    expect(bad).toMatch(/"current_size": 141653\n {6}}\n {4}"20240102": \{/); // storage closed, day not
    const strings = JSON.parse(renderSummary(days, { numbersAsStrings: true }));
    expect(strings.summary['20240102'].messages.out_size).toBe('4');
    const empty = JSON.parse(renderSummary(days, { emptyStrings: true }));
    expect(empty.summary['20240101'].messages).toMatchObject({ in_size: '', out_size: '', in_ham: '' });
  });
});
