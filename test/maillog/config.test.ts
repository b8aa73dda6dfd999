// The maillog source's pipeline keys are a contract (issue 11): exactly paths, timezone, year, edges,
// trustedClients, filterRelays, filterTransports, userMap, ignoreDomains; bad values are named by their path.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/config.js';
import { TiError } from '../../src/errors.js';
import { maillogSourceSchema } from '../../src/readers/maillog/config.js';
import { loadUserMap } from '../../src/readers/maillog/domains.js';
import { SAMPLES, scratch } from './helpers.js';

const target = { type: 'plesk', url: 'https://plesk.example.com:8443' };
const problems = (source: Record<string, unknown>): string[] => {
  try {
    parsePipeline({ source: { type: 'maillog', paths: ['/var/log/mail.log*'], ...source }, target }, 'p.json');
    return [];
  } catch (err) {
    return ((err as TiError).details?.problems as string[]) ?? [String(err)];
  }
};

describe('maillog source keys', () => {
  it('defaults', () => {
    expect(maillogSourceSchema.parse({ type: 'maillog', paths: 'mail.log' })).toEqual({
      type: 'maillog',
      paths: ['mail.log'],
      timezone: 'UTC',
      edges: 'drop',
      trustedClients: ['127.0.0.1', '::1'],
      filterRelays: ['127.0.0.1:10024', '[::1]:10024', '127.0.0.1:10026'],
      filterTransports: [],
      ignoreDomains: ['localhost', 'localhost.localdomain'],
    });
  });

  it('accepts every key of the contract', () => {
    expect(problems({
      timezone: 'Europe/Berlin', year: 2026, edges: 'keep', trustedClients: ['127.0.0.1', '10.0.5.0/24', '::1'],
      filterRelays: ['127.0.0.1:10024', '[::1]:10026'], filterTransports: ['amavis'], userMap: 'users.csv', ignoreDomains: ['mx1.example.net', '*.internal'],
    })).toEqual([]);
  });

  it('refuses unknown keys and bad values, naming each', () => {
    expect(problems({ edge: 'keep' })).toEqual(['source.edge: unknown key (check the spelling)']);
    const bad = problems({ timezone: 'Mars/Olympus', year: 26, edges: 'sometimes', trustedClients: ['localhost'], filterRelays: ['127.0.0.1'], ignoreDomains: ['a b'] });
    expect(bad.map((p) => p.split(':')[0])).toEqual([
      'source.timezone', 'source.year', 'source.edges', 'source.trustedClients[0]', 'source.filterRelays[0]', 'source.ignoreDomains[0]',
    ]);
    expect(problems({ paths: [] })[0]).toMatch(/^source\.paths/);
  });

  it('userMap: CSV user,domain with an optional header; a bad row is a configuration error', () => {
    const map = loadUserMap(path.join(SAMPLES, 'users.csv'));
    expect([...map]).toEqual([['legacy', 'beta.example']]);
    const dir = scratch({ 'bad.csv': ['user,domain', 'bob,not a domain'] });
    expect(() => loadUserMap(path.join(dir, 'bad.csv'))).toThrow(/row 2 must be "user,domain"/);
    expect(() => loadUserMap(path.join(dir, 'missing.csv'))).toThrow(TiError);
  });
});
