export { RunMetrics, registryOf, exposition, REQUEST_BUCKETS, contentType } from './registry.js';
export { writeMetricsFile, groupingPath, createPusher, type Pusher } from './sinks.js';
