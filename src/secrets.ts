// Secrets come from the environment or from files named there (Docker/Kubernetes secrets), never from argv or
// the pipeline file; they never reach logs, reports or error messages.

import { readFileSync } from 'node:fs';
import { TiError } from './errors.js';

/** A secret from NAME, or from the file named by NAME_FILE (Docker/Kubernetes secrets); trailing newline dropped. */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new TiError('TI_SECRET_MISSING', `${name}_FILE names ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  return undefined;
}
