// Preloaded into the CLI by the bench (`node --import dist/bench/rss-probe.js dist/cli.js …`): at exit, writes
// the process's peak RSS in KiB (worker threads included: they share the process) to the file the bench reads.
// The only way to have a child's peak memory from Node without /usr/bin/time. Preloads run in worker threads
// too: only the main thread writes.

import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const at = process.argv.indexOf('--report');
const report = at >= 0 ? process.argv[at + 1] : undefined;
if (isMainThread && report !== undefined) {
  process.on('exit', () => writeFileSync(report.replace(/report-([^/]+)\.json$/, 'rss-$1.txt'), String(process.resourceUsage().maxRSS)));
}
