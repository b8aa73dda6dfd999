export { RunMetrics, registryOf, exposition, REQUEST_BUCKETS, CONTENT_TYPE } from './registry.js';
export { writeMetricsFile, groupingPath, createPusher, type Pusher } from './sinks.js';
