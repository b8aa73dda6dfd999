// Shared helpers of the ledger tests: temp dirs, a capturing logger, intents, and child processes that run
// the real ledger module (the compiled dist/ledger/index.js, so plain `node` can load it).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import type { Intent } from '../../src/ledger/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const made: string[] = [];

export function tempDir(prefix = 'ti-ledger-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Remove every temp dir (and the child bundle) made so far: call in afterAll. */
export function removeTempDirs(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** A pino logger whose lines land in `lines` (parsed). */
export function captureLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

export function counters(a: number, b = 0, c = 0, d = 0): Intent['before'] {
  return { smtp_in: BigInt(a), smtp_out: BigInt(b), pop3_imap_in: BigInt(c), pop3_imap_out: BigInt(d) };
}

export function intent(slice: string, domId: number, date: string, before: number, after: number, operator: Intent['operator'] = 'webspace'): Intent {
  return { slice, operator, domId, date, before: counters(before), after: counters(after) };
}

/** The pid of a process that has exited (for stale locks). */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return pid;
}

/** The compiled ledger module (dist/, built by `pretest`) that a plain `node` child can import. */
export async function ledgerBundle(): Promise<string> {
  const built = path.join(root, 'dist', 'ledger', 'index.js');
  if (!fs.existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` (npm test does it first)`);
  return built;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * A script file that runs `body` (an async function body, ESM) with `L` = the ledger module, `args` = JSON of
 * argv[2], and `nextLine()` = a promise of the next line on stdin (signals from the test).
 */
export async function childScript(body: string): Promise<string> {
  const bundle = await ledgerBundle();
  const script = path.join(path.dirname(bundle), `child-${process.pid}-${Math.random().toString(16).slice(2)}.mjs`);
  fs.writeFileSync(
    script,
    `import * as L from ${JSON.stringify(pathToFileURL(bundle).href)};\n` +
      `import { createInterface } from 'node:readline';\n` +
      `const args = JSON.parse(process.argv[2]);\n` +
      `let lines;\n` +
      `const nextLine = async () => { lines ??= createInterface({ input: process.stdin })[Symbol.asyncIterator](); const r = await lines.next(); return r.value; };\n` +
      `await (async () => {\n${body}\n})();\n` +
      `process.stdin.destroy();\n`,
  );
  return script;
}

/**
 * Run `body` (an async function body, ESM) in a child node process with `L` = the ledger module and `args`
 * = the given JSON value. `onStdout` sees output as it comes (to kill the child at a known point).
 */
export async function runChild(
  body: string,
  args: unknown,
  onStdout?: (text: string, child: ReturnType<typeof spawn>) => void,
): Promise<ChildResult> {
  const script = await childScript(body);
  // stdin is a pipe: a test can signal the child (`nextLine()` in its body) instead of relying on the clock.
  const child = spawn(process.execPath, [script, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    onStdout?.(stdout, child);
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return await new Promise<ChildResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
