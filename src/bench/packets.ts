// Bench section `packets` (issue 13, goal 2): building set_traffic packets, in nodes per second, with the text
// writer the product uses (src/plesk/set-traffic.ts) and with xmlbuilder2's DOM (`buildSetTrafficPacketDom`, how
// packets were built before: the baseline), in the same run, on the same 50,000 nodes in packets of 100
// (BENCH_PACKET_NODES, BENCH_PACKET_SIZE), each packet turned into bytes as writing or sending it does. Both must
// give the same bytes (checked here too). Goal: ≥ 1M nodes/s.

import os from 'node:os';
import { addDays } from '../dates.js';
import { buildSetTrafficPacketDom } from '../plesk/packet.js';
import { buildSetTrafficPacket } from '../plesk/set-traffic.js';
import type { SetTrafficNode } from '../plesk/types.js';
import { printTable } from './e2e.js';

export async function packetsBench(): Promise<Record<string, unknown>> {
  const count = Number(process.env.BENCH_PACKET_NODES ?? 50_000);
  const size = Number(process.env.BENCH_PACKET_SIZE ?? 100);
  let seed = 7;
  const rnd = (): bigint => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return BigInt(seed % 20_000_000);
  };
  const nodes: SetTrafficNode[] = Array.from({ length: count }, (_, i) => ({
    domId: 1 + Math.floor(i / 5), date: addDays('2026-11-01', i % 5), smtp_in: rnd(), smtp_out: rnd(), pop3_imap_in: rnd(), pop3_imap_out: rnd(),
  }));
  const packets: SetTrafficNode[][] = [];
  for (let i = 0; i < nodes.length; i += size) packets.push(nodes.slice(i, i + size));
  // Built and made bytes (the UTF-8 length walks the flat string): what writing or sending a packet needs.
  const build = (f: typeof buildSetTrafficPacket): string[] => packets.map((p) => {
    const xml = f('webspace', p, '1.6.3.0');
    Buffer.byteLength(xml);
    return xml;
  });
  const a = build(buildSetTrafficPacket);
  const b = build(buildSetTrafficPacketDom);
  if (a.some((x, i) => x !== b[i])) throw new Error('packets bench: the writer and xmlbuilder2 disagree');
  const rate = (f: typeof buildSetTrafficPacket, rounds: number): number => {
    let bestMs = Infinity;
    for (let r = 0; r < rounds; r++) {
      const t = performance.now();
      build(f);
      bestMs = Math.min(bestMs, performance.now() - t);
    }
    return count / (bestMs / 1000);
  };
  rate(buildSetTrafficPacket, 10); // warm-up (JIT)
  const writer = rate(buildSetTrafficPacket, 20);
  const dom = rate(buildSetTrafficPacketDom, 3);
  console.log(`\n== packets: ${count.toLocaleString('en-US')} set_traffic nodes in packets of ${size}, best of several rounds; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  printTable(['builder', 'nodes/s'], [
    ['xmlbuilder2 DOM (before; baseline)', Math.round(dom).toLocaleString('en-US')],
    ['text writer (set-traffic.ts)', Math.round(writer).toLocaleString('en-US')],
  ]);
  console.log(`goal 2 — ${Math.round(writer).toLocaleString('en-US')} nodes/s (goal ≥ 1,000,000), ${(writer / dom).toFixed(0)}× xmlbuilder2's DOM; bytes identical`);
  const figures = { section: 'packets', nodes: count, packetSize: size, writerNodesPerSecond: Math.round(writer), domNodesPerSecond: Math.round(dom), speedup: Number((writer / dom).toFixed(1)) };
  console.log(JSON.stringify(figures));
  return figures;
}
