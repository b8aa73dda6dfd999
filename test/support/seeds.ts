// The seed documents (test/fixtures/seeds/, verbatim copies with their public sources in the README there).
import { readFileSync } from 'node:fs';

const FILES = {
  '000': '000-site-set-traffic.txt',
  '001': '001-webspace-set-traffic.txt',
  '002': '002-opensrs-stats-summary.txt',
  '003': '003-billing-cpanel-module.txt',
  '004': '004-service-plan-get.txt',
} as const;
export type SeedId = keyof typeof FILES;

export function seedText(id: SeedId): string {
  return readFileSync(new URL(`../fixtures/seeds/${FILES[id]}`, import.meta.url), 'utf8');
}

/** The sample `<packet version="…">…</packet>` blocks of a seed page, in order (request, response, …); the bare
 * `<packet>` skeletons of its "Request Packet Structure" sections are left out. */
export function seedPackets(id: SeedId): string[] {
  return seedText(id).match(/<packet version="[^"]*">[\s\S]*?<\/packet>/g) ?? [];
}

/** The vendored Plesk schema trees' reference copy (docs/reference/plesk-api-1.6.9.1/). */
export const SCHEMA_REFERENCE = new URL('../../docs/reference/plesk-api-1.6.9.1/', import.meta.url);
