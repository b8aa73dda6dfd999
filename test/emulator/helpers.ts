// Shared by the emulator's tests: the sample fixture and a loopback POST whose every answer is checked
// against the response schema (agent_output.tree.txt), so shapes and element order are tested on each call.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { request, type Agent, type Client } from 'undici';
import { expect } from 'vitest';
import type { Emulator, EmulatorFixture } from '../../src/stand-ins/plesk/index.js';
import { checkPacket, parseXml, type XmlElement } from '../../src/stand-ins/plesk/schema/index.js';

export const SAMPLE = path.resolve(import.meta.dirname, '../../samples/plesk-fixture.json');
export const AGENT = '/enterprise/control/agent.php';
export const LOGIN = { 'HTTP_AUTH_LOGIN': 'admin', 'HTTP_AUTH_PASSWD': 'emulator-password' };

/** The sample fixture plus the ids the seeds' packets use (1134, 1135, 1234). */
export function fixture(): EmulatorFixture {
  const f = JSON.parse(readFileSync(SAMPLE, 'utf8')) as EmulatorFixture;
  f.subscriptions.push({ id: 1134, name: 'seed-1134.example' }, { id: 1135, name: 'seed-1135.example' }, { id: 1234, name: 'seed-1234.example' });
  return f;
}

export interface Reply {
  status: number;
  contentType: string;
  body: string;
  root: XmlElement;
}

export async function post(emu: Emulator, body: string, headers: Record<string, string> = LOGIN, extra: { contentType?: string; dispatcher?: Agent | Client } = {}): Promise<Reply> {
  const res = await request(`${emu.url}${AGENT}`, {
    method: 'POST',
    headers: { 'Content-Type': extra.contentType ?? 'text/xml', ...headers },
    body,
    ...(extra.dispatcher ? { dispatcher: extra.dispatcher } : {}),
  });
  const text = await res.body.text();
  const contentType = String(res.headers['content-type']);
  expect(contentType).toBe('text/xml; charset=UTF-8');
  expect(res.statusCode).toBe(200);
  // Every answer must pass the response schema.
  expect(checkPacket(text, 'output').violations).toEqual([]);
  return { status: res.statusCode, contentType, body: text, root: parseXml(text) };
}

export const child = (el: XmlElement, name: string): XmlElement | undefined => el.children.find((c) => c.name === name);
export const val = (el: XmlElement, name: string): string | undefined => child(el, name)?.text;
export const kids = (el: XmlElement | undefined, name: string): XmlElement[] => el?.children.filter((c) => c.name === name) ?? [];
/** The `<result>` elements of the n-th operation element under the first operator. */
export function results(r: Reply, op: string, opIndex = 0): XmlElement[] {
  return kids(kids(r.root.children[0], op)[opIndex], 'result');
}
export function systemOf(r: Reply): { errcode?: string; errtext?: string } {
  const sys = child(r.root, 'system')!;
  expect(val(sys, 'status')).toBe('error');
  return { errcode: val(sys, 'errcode'), errtext: val(sys, 'errtext') };
}
