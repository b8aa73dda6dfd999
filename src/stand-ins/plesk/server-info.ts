// The `server` operator: `get_protos` and `get` with `gen_info`, `prefs` and `stat` (agent_output.tree.txt,
// server → get → result: status, then the asked blocks). Names, GUID, preferences and versions come from
// the fixture; `stat`'s host figures (memory, load, uptime, disk) are the machine the emulator runs on, as
// a panel reports its own host. Blocks the emulator does not have (key, components, admin, …) refuse the
// result with 1017 rather than answer something made up.

import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { KNOWN_PROTOCOLS } from './protocols.js';
import { realSize } from './datasets.js';
import type { EmulatorState } from './fixture.js';
import type { XmlBuilder } from './operations.js';

/** server/get blocks in request order (the input tree's sequence); `true` = emulated. */
const SERVER_BLOCKS: readonly (readonly [string, boolean])[] = [
  ['key', false], ['gen_info', true], ['components', false], ['stat', true], ['admin', false], ['interfaces', false],
  ['services_state', false], ['prefs', true], ['shells', false], ['session_setup', false], ['site-isolation-config', false],
  ['updates', false], ['admin-domain-list', false], ['certificates', false],
];

function leaf(parent: XmlBuilder, name: string, value: string | number | bigint): void {
  parent.ele(name).txt(String(value)).up();
}

function resultOk(op: XmlBuilder): XmlBuilder {
  return op.ele('result').ele('status').txt('ok').up();
}

function refuse(op: XmlBuilder, text: string): void {
  op.ele('result').ele('status').txt('error').up().ele('errcode').txt('1017').up().ele('errtext').txt(text).up();
}

export function serverGetProtos(out: XmlBuilder): void {
  const protos = resultOk(out.ele('get_protos')).ele('protos');
  for (const v of KNOWN_PROTOCOLS) leaf(protos, 'proto', v);
}

export function serverGet(req: { children: { name: string }[] }, out: XmlBuilder, state: EmulatorState): void {
  const op = out.ele('get');
  const asked = new Set(req.children.map((c) => c.name));
  const unsupported = SERVER_BLOCKS.filter(([n, ok]) => !ok && asked.has(n)).map(([n]) => n);
  if (unsupported.length > 0) {
    refuse(op, unsupported.length === 1
      ? `Server information '${unsupported[0]}' is not supported by the emulator.`
      : `Server information ${unsupported.map((n) => `'${n}'`).join(', ')} is not supported by the emulator.`);
    return;
  }
  const result = resultOk(op);
  for (const [name] of SERVER_BLOCKS) {
    if (!asked.has(name)) continue;
    if (name === 'gen_info') genInfo(result, state);
    else if (name === 'stat') stat(result, state);
    else if (name === 'prefs') prefs(result, state);
  }
}

function genInfo(result: XmlBuilder, state: EmulatorState): void {
  const g = result.ele('gen_info');
  leaf(g, 'server_name', state.server.name);
  leaf(g, 'server_guid', state.server.guid);
  leaf(g, 'mode', state.server.mode);
}

function prefs(result: XmlBuilder, state: EmulatorState): void {
  const p = state.server.prefs;
  const g = result.ele('prefs');
  leaf(g, 'stat_ttl', p.stat_ttl);
  leaf(g, 'traffic_accounting', p.traffic_accounting);
  leaf(g, 'restart_apache_interval', p.restart_apache_interval);
}

/** /proc/meminfo in bytes (Linux); empty elsewhere. */
function meminfo(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+)\s*kB/.exec(line);
      if (m) out.set(m[1]!, Number(m[2]) * 1024);
    }
  } catch {
    // not Linux: the figures /proc would give stay 0
  }
  return out;
}

function stat(result: XmlBuilder, state: EmulatorState): void {
  const g = result.ele('stat');
  const subs = [...state.subscriptions.values()];
  const sum = (k: 'box' | 'redir' | 'mg' | 'resp' | 'wu' | 'db'): number => subs.reduce((s, x) => s + x.counters[k], 0);
  const objects = g.ele('objects');
  const domains = state.sites.size;
  const active = [...state.sites.values()].filter((s) => state.subscriptions.get(s.webspaceId)!.status === 0).length;
  const rows: [string, number][] = [
    // The fixture's objects all belong to the administrator: no customer accounts.
    ['clients', 0], ['domains', domains], ['active_domains', active], ['mail_boxes', sum('box')], ['mail_redirects', sum('redir')],
    ['mail_groups', sum('mg')], ['mail_responders', sum('resp')], ['web_users', sum('wu')], ['databases', sum('db')],
    // One user per database, as Plesk creates them.
    ['database_users', sum('db')], ['problem_clients', 0], ['problem_domains', 0],
  ];
  for (const [n, v] of rows) leaf(objects, n, v);
  const version = g.ele('version');
  const v = state.server.version;
  for (const k of ['plesk_name', 'plesk_version', 'plesk_os', 'plesk_os_version', 'plesk_build', 'os_release'] as const) leaf(version, k, v[k]);
  const other = g.ele('other');
  leaf(other, 'cpu', os.cpus()[0]?.model.trim() || os.arch());
  leaf(other, 'uptime', Math.floor(os.uptime()));
  leaf(other, 'inside_vz', 'false');
  const load = g.ele('load_avg');
  const [l1, l5, l15] = os.loadavg();
  leaf(load, 'l1', (l1 ?? 0).toFixed(2));
  leaf(load, 'l5', (l5 ?? 0).toFixed(2));
  leaf(load, 'l15', (l15 ?? 0).toFixed(2));
  const info = meminfo();
  const total = os.totalmem();
  const free = os.freemem();
  const mem = g.ele('mem');
  for (const [n, val] of [['total', total], ['used', total - free], ['free', free], ['shared', info.get('Shmem') ?? 0],
    ['buffer', info.get('Buffers') ?? 0], ['cached', info.get('Cached') ?? 0]] as const) leaf(mem, n, val);
  const swapTotal = info.get('SwapTotal') ?? 0;
  const swapFree = info.get('SwapFree') ?? 0;
  const swap = g.ele('swap');
  leaf(swap, 'total', swapTotal);
  leaf(swap, 'used', swapTotal - swapFree);
  leaf(swap, 'free', swapFree);
  const device = g.ele('diskspace').ele('device');
  let disk = { total: 0n, used: 0n, free: 0n };
  try {
    const fs = statfsSync('/', { bigint: true });
    disk = { total: fs.blocks * fs.bsize, used: (fs.blocks - fs.bfree) * fs.bsize, free: fs.bavail * fs.bsize };
  } catch {
    // no statfs: the subscriptions' own usage is the only disk figure there is
    disk.used = subs.reduce((s, x) => s + realSize(x), 0n);
  }
  leaf(device, 'name', '/');
  leaf(device, 'total', disk.total);
  leaf(device, 'used', disk.used);
  leaf(device, 'free', disk.free);
}
