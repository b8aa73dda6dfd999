// `npm run bench` (= node dist/bench/index.js, after `npx tsc -p .`): every benchmark section, in order.
// A section is an async function that prints its own table and a JSON line of its figures on stdout.
// Environment: BENCH_ROWS scales the sizes (default 1000000), BENCH_REPEAT the runs per size (default 3),
// BENCH_KEEP=1 keeps the generated files in os.tmpdir(); BENCH_SEND_RECORDS / BENCH_BASELINE_NODES size the
// send section (src/bench/send.ts); BENCH_ONLY=e2e|packets|ingest|send|maillog runs one section; the e2e
// (BENCH_E2E_ROWS, BENCH_E2E_MEMORY), packets and maillog sections' own variables are in their files.

import { e2eBench } from './e2e.js';
import { ingestBench } from './ingest.js';
import { packetsBench } from './packets.js';
import { sendBench } from './send.js';
import { maillogBench } from './maillog.js';

const sections: (() => Promise<unknown>)[] = [e2eBench, packetsBench, ingestBench, sendBench, maillogBench];

const only = process.env.BENCH_ONLY;
for (const section of sections) {
  if (only && !section.name.toLowerCase().startsWith(only)) continue;
  await section();
}
