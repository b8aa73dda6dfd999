#!/usr/bin/env node
// Keeps package-lock.json installable with `npm ci` when it was generated against a registry that does not
// serve other platforms' optional binaries (rollup's and esbuild's per-platform packages answer 404 there).
// npm then leaves those packages out of the lock but keeps them in their parent's `optionalDependencies`, and
// `npm ci` refuses the lock ("Missing: @rollup/rollup-android-arm-eabi@ from lock file"). This drops each
// optional dependency that has no entry of its own in the lock. Run it after any `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const present = new Set(Object.keys(lock.packages).map((k) => k.replace(/^.*node_modules\//, '')));
let dropped = 0;
for (const pkg of Object.values(lock.packages)) {
  if (!pkg.optionalDependencies) continue;
  for (const name of Object.keys(pkg.optionalDependencies)) {
    if (!present.has(name)) {
      delete pkg.optionalDependencies[name];
      dropped++;
    }
  }
  if (Object.keys(pkg.optionalDependencies).length === 0) delete pkg.optionalDependencies;
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`package-lock.json: dropped ${dropped} optional dependencies the registry does not serve\n`);
