// Secrets come from the environment, or from a file named by NAME_FILE (Docker and Kubernetes secrets mounted
// as files), never from argv or the pipeline file; they never reach logs, reports or error messages. Every
// credential variable of every source goes through secretFromEnv, so *_FILE works for all.

import { readFileSync } from 'node:fs';
import { TiError } from './errors.js';

/** Every credential variable the tool reads; each also works as NAME_FILE. (docs/operations.md lists them.) */
export const SECRET_ENV = [
  'PLESK_LOGIN', 'PLESK_PASSWORD', 'PLESK_SECRET_KEY',
  'WHM_USER', 'WHM_API_TOKEN',
  'OPENSRS_USER', 'OPENSRS_PASSWORD', 'OPENSRS_TOKEN',
] as const;
export type SecretEnv = (typeof SECRET_ENV)[number];

/**
 * A secret from NAME, or from the file named by NAME_FILE; one trailing newline is dropped (as `echo` and
 * `kubectl create secret --from-file` leave it). NAME wins when both are set. An unreadable or empty file is an
 * error that names the variable and the file, never the content.
 */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: SecretEnv): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TiError('TI_SECRET_MISSING', `${name}_FILE names ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new TiError('TI_SECRET_MISSING', `${name}_FILE names ${file}, which is empty`);
  return value;
}

/**
 * The environment one pipeline runs with: `{pipeline}` in a NAME_FILE path becomes the pipeline's name, so one
 * mounted Secret serves many panels (PLESK_SECRET_KEY_FILE=/run/secrets/ti/{pipeline}.plesk-key).
 */
export function envForPipeline(env: NodeJS.ProcessEnv, pipeline: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const name of SECRET_ENV) {
    const file = env[`${name}_FILE`];
    if (file?.includes('{pipeline}')) out[`${name}_FILE`] = file.replaceAll('{pipeline}', pipeline);
  }
  return out;
}
