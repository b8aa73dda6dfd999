// Builds dist/ before any test runs, so tests that spawn the binary (dist/cli.js) or load compiled modules in
// child processes never meet a stale build, however vitest is started (`npm test`, `npx vitest run file`).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  // A clean build: tsc never deletes the output of a source file that was moved or removed.
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], {
    cwd: root,
    stdio: 'inherit',
  });
}
