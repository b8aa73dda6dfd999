// Which pipelines one `run` (or `runs`, `validate`) works on: files and directories from the command line, and
// this process's share of them under --shard I/N. Many panels scale out as many processes (a Kubernetes Indexed
// Job runs one pod per shard), each a plain sequential run of its share: the engine stays one pipeline at a time.

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { TiError } from './errors.js';

export interface Shard {
  /** 0-based, as JOB_COMPLETION_INDEX. */
  index: number;
  count: number;
}

/**
 * PIPELINE arguments → pipeline files, in a stable order every shard agrees on: arguments in the order given; a
 * directory stands for its `*.json` files (not recursive) in name order. Names starting with `.` are skipped:
 * a Kubernetes ConfigMap volume holds `..data` and `..<timestamp>` entries beside its keys.
 */
export function pipelineFiles(args: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const arg of args) {
    let st;
    try {
      st = statSync(arg);
    } catch (err) {
      throw new TiError('TI_CONFIG_READ', `${arg}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const files = st.isDirectory() ? jsonFilesIn(arg) : [arg];
    for (const f of files) {
      const abs = path.resolve(f);
      if (!seen.has(abs)) {
        seen.add(abs);
        out.push(f);
      }
    }
  }
  return out;
}

function jsonFilesIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new TiError('TI_CONFIG_READ', `${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const files = names
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .sort()
    .map((n) => path.join(dir, n))
    .filter((f) => {
      try {
        return statSync(f).isFile(); // follows the symlinks of a ConfigMap volume
      } catch {
        return false;
      }
    });
  if (files.length === 0) throw new TiError('TI_CONFIG_READ', `${dir}: no pipeline files (*.json) in this directory`);
  return files;
}

/** `--shard I/N`: 0 ≤ I < N. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new TiError('TI_USAGE', `--shard expects I/N with 0 ≤ I < N (I is 0-based, as JOB_COMPLETION_INDEX), got "${text}" (see traffic-import --help)`);
  }
  return { index, count };
}

/**
 * The shard when --shard is not given: JOB_COMPLETION_INDEX (set by Kubernetes in each pod of an Indexed Job)
 * and the count TRAFFIC_IMPORT_SHARDS (the Job's `completions`; Kubernetes does not pass that to the pod).
 * An index without a count is refused when there is more than one pipeline, rather than letting every pod run
 * every pipeline; with one pipeline (a Job that names each pod's pipeline itself) it is not a shard.
 */
export function shardFromEnv(env: NodeJS.ProcessEnv, pipelines: number): Shard | undefined {
  const index = env.JOB_COMPLETION_INDEX;
  const count = env.TRAFFIC_IMPORT_SHARDS;
  if ((index === undefined || index === '') && (count === undefined || count === '')) return undefined;
  if (index === undefined || index === '') {
    throw new TiError('TI_USAGE', 'TRAFFIC_IMPORT_SHARDS is set but JOB_COMPLETION_INDEX is not: give --shard I/N');
  }
  if (count === undefined || count === '') {
    if (pipelines <= 1) return undefined;
    throw new TiError('TI_USAGE', `JOB_COMPLETION_INDEX=${index} (a pod of an Indexed Job) but no shard count: set TRAFFIC_IMPORT_SHARDS to the Job's completions, or give --shard I/N`);
  }
  return parseShard(`${index}/${count}`);
}

/** This shard's share: the k-th pipeline (0-based, in pipelineFiles order) belongs to shard k mod N. */
export function shareOf<T>(items: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return [...items];
  return items.filter((_, k) => k % shard.count === shard.index);
}

/** The name a pipeline goes by in file names, metrics labels and the Pushgateway grouping: its base name. */
export function pipelineName(file: string): string {
  return path.basename(file).replace(/\.json$/i, '');
}

/**
 * With several pipelines in one run, each writes its own --report/--rejects file: the pipeline's name is put
 * before the extension (report.json → report.csv-wide.json), or replaces `{pipeline}` where the path has it.
 */
export function perPipelinePath(file: string, name: string, several: boolean): string {
  if (file.includes('{pipeline}')) return file.replaceAll('{pipeline}', name);
  if (!several) return file;
  const ext = path.extname(file);
  return ext ? `${file.slice(0, -ext.length)}.${name}${ext}` : `${file}.${name}`;
}
