// A Pushgateway stand-in for tests: the push API of prometheus/pushgateway (README "API") on 127.0.0.1, keeping
// what it received so tests can look at it.
//   PUT    /metrics/job/<job>{/<label>/<value>}  replaces the group's metrics
//   POST   /metrics/job/<job>{/<label>/<value>}  replaces the metrics of the same names in the group
//   DELETE /metrics/job/<job>{/<label>/<value>}  drops the group
// A label value may be given as `<label>@base64/<base64url>`. As the real one, it answers 400 to a body that is
// not valid text format, or whose samples carry a grouping label with another value; 200 to a good push.
// Dev only: it parses with parse-prometheus-text-format, a devDependency.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import parse, { type ParsedFamily } from 'parse-prometheus-text-format';

export interface PushedGroup {
  /** job and the other grouping labels. */
  labels: Record<string, string>;
  /** The text as last received (PUT), or as merged (POST: families by name). */
  families: ParsedFamily[];
  text: string;
  pushes: number;
}

export interface PushgatewayStandIn {
  url: string;
  /** By grouping key (`job=…,pipeline=…`, labels sorted). */
  groups: Map<string, PushedGroup>;
  requests: { method: string; path: string; status: number; contentType: string | undefined }[];
  close(): Promise<void>;
}

export function groupKey(labels: Record<string, string>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}

function groupingLabels(urlPath: string): Record<string, string> | string {
  const parts = urlPath.split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (parts[0] !== 'metrics' || parts[1] !== 'job' || parts.length % 2 !== 1) return 'expected /metrics/job/<job>{/<label>/<value>}';
  const labels: Record<string, string> = {};
  for (let i = 1; i < parts.length; i += 2) {
    let name = parts[i]!;
    let value = parts[i + 1]!;
    if (name.endsWith('@base64')) {
      name = name.slice(0, -'@base64'.length);
      value = Buffer.from(value === '=' ? '' : value, 'base64url').toString('utf8');
    }
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) return `invalid label name ${name}`;
    labels[name] = value;
  }
  if (!labels.job) return 'job name is required';
  return labels;
}

export async function startPushgatewayStandIn(opts: { failFirst?: number } = {}): Promise<PushgatewayStandIn> {
  const groups = new Map<string, PushedGroup>();
  const requests: PushgatewayStandIn['requests'] = [];
  let toFail = opts.failFirst ?? 0;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const urlPath = (req.url ?? '').split('?')[0]!;
      const answer = (status: number, body = '') => {
        requests.push({ method: req.method ?? '', path: urlPath, status, contentType: req.headers['content-type'] });
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(body);
      };
      if (toFail > 0) {
        toFail--;
        answer(503, 'unavailable');
        return;
      }
      const labels = groupingLabels(urlPath);
      if (typeof labels === 'string') return answer(404, labels);
      const key = groupKey(labels);
      if (req.method === 'DELETE') {
        groups.delete(key);
        return answer(202);
      }
      if (req.method !== 'PUT' && req.method !== 'POST') return answer(405, 'method not allowed');
      const text = Buffer.concat(chunks).toString('utf8');
      let families: ParsedFamily[];
      try {
        families = parse(text);
      } catch (err) {
        return answer(400, `text format parsing error: ${(err as Error).message}`);
      }
      for (const f of families) {
        for (const m of f.metrics) {
          for (const [k, v] of Object.entries(m.labels ?? {})) {
            if (labels[k] !== undefined && labels[k] !== v) {
              return answer(400, `pushed metrics are invalid: ${f.name} has label ${k}="${v}", the grouping key says "${labels[k]}"`);
            }
          }
        }
      }
      const old = groups.get(key);
      const merged = req.method === 'POST' && old
        ? [...old.families.filter((o) => !families.some((f) => f.name === o.name)), ...families]
        : families;
      groups.set(key, { labels, families: merged, text, pushes: (old?.pushes ?? 0) + 1 });
      answer(200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    groups,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
