// Bench inputs are generated once per size and kept between runs: written to `<file>.part` about 1 MiB at a time
// and renamed when complete, so an interrupted generation is never taken for a finished file.

import { once } from 'node:events';
import { createWriteStream, existsSync, renameSync } from 'node:fs';

const WRITE_BYTES = 1 << 20;

/** Writes the pieces of `text` to `file` unless it exists already; false when it did. */
export async function writeGenerated(file: string, text: Iterable<string>): Promise<boolean> {
  if (existsSync(file)) return false;
  const tmp = `${file}.part`;
  const out = createWriteStream(tmp);
  const finished = once(out, 'finish'); // rejects on the stream's error
  let buf = '';
  for (const piece of text) {
    buf += piece;
    if (buf.length >= WRITE_BYTES) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await finished;
  renameSync(tmp, file);
  return true;
}
