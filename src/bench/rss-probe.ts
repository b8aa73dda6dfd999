// Preloaded into the CLI by the bench (`node --import dist/bench/rss-probe.js dist/cli.js …`): at exit, writes
// the process's peak RSS in KiB (worker threads included: they share the process) to the file the bench reads.
// The only way to have a child's peak memory from Node without /usr/bin/time.

import { writeFileSync } from 'node:fs';

const argv = process.argv;
const report = argv[argv.indexOf('--report') + 1];
if (report) process.on('exit', () => writeFileSync(report.replace(/report-([^/]+)\.json$/, 'rss-$1.txt'), String(process.resourceUsage().maxRSS)));
