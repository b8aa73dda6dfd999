import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TiError } from '../../src/errors.js';
import { STDIN_NAME, expandInputs, inputSize, openInput } from '../../src/input/files.js';

function scratch(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ti-input-'));
  writeFileSync(path.join(dir, 'mail.log'), 'today\n');
  writeFileSync(path.join(dir, 'mail.log.1'), 'yesterday\n');
  writeFileSync(path.join(dir, 'mail.log.2.gz'), gzipSync('two days ago\n'));
  // Rotated by a tool that does not add .gz: gzip is recognised by its magic bytes.
  writeFileSync(path.join(dir, 'mail.log.3'), gzipSync('three days ago\n'));
  mkdirSync(path.join(dir, 'sub'));
  return dir;
}

describe('expandInputs', () => {
  it('expands a glob in name order, relative to the pipeline directory, and names each file', async () => {
    const dir = scratch();
    const got = await expandInputs('mail.log*', { baseDir: dir });
    expect(got.map((f) => f.name)).toEqual(['mail.log', 'mail.log.1', 'mail.log.2.gz', 'mail.log.3']);
    expect(got[0]!.path).toBe(path.join(dir, 'mail.log'));
  });

  it('keeps plain paths as written, reads a file named twice once, and `-` as stdin', async () => {
    const dir = scratch();
    const got = await expandInputs(['mail.log.1', 'mail.log*', '-'], { baseDir: dir });
    expect(got.map((f) => f.name)).toEqual(['mail.log.1', 'mail.log', 'mail.log.2.gz', 'mail.log.3', STDIN_NAME]);
  });

  it('refuses a glob that matches nothing: an empty source must not look like a quiet day', async () => {
    const dir = scratch();
    await expect(expandInputs('maillog-*.txt', { baseDir: dir })).rejects.toMatchObject({ code: 'TI_SOURCE_UNREADABLE' });
  });
});

describe('openInput', () => {
  it('reads plain files, .gz by name and gzip by content', async () => {
    const dir = scratch();
    const files = await expandInputs('mail.log*', { baseDir: dir });
    const texts = await Promise.all(files.map(async (f) => text(await openInput(f, { baseDir: dir }))));
    expect(texts).toEqual(['today\n', 'yesterday\n', 'two days ago\n', 'three days ago\n']);
    expect(await inputSize(files[0]!)).toBe(6);
  });

  it('reads standard input, gunzipped when it is gzip', async () => {
    const plain = Readable.from([Buffer.from('a'), Buffer.from('bc\n')]);
    expect(await text(await openInput({ name: STDIN_NAME }, { baseDir: '.', stdin: plain }))).toBe('abc\n');
    const gz = gzipSync('zipped\n');
    const zipped = Readable.from([gz.subarray(0, 1), gz.subarray(1)]);
    expect(await text(await openInput({ name: STDIN_NAME }, { baseDir: '.', stdin: zipped }))).toBe('zipped\n');
    expect(await text(await openInput({ name: STDIN_NAME }, { baseDir: '.', stdin: Readable.from([]) }))).toBe('');
  });

  it('names the file when it cannot be opened, and when its gzip is broken', async () => {
    const dir = scratch();
    const missing = await openInput({ name: 'nope.csv', path: path.join(dir, 'nope.csv') }, { baseDir: dir }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TiError);
    expect((missing as TiError).message).toMatch(/nope\.csv.*ENOENT/);
    const isDir = await openInput({ name: 'sub', path: path.join(dir, 'sub') }, { baseDir: dir }).catch((e: unknown) => e);
    expect((isDir as TiError).code).toBe('TI_SOURCE_UNREADABLE');
    writeFileSync(path.join(dir, 'cut.gz'), gzipSync('x'.repeat(1000)).subarray(0, 12));
    const cut = await openInput({ name: 'cut.gz', path: path.join(dir, 'cut.gz') }, { baseDir: dir });
    await expect(text(cut)).rejects.toThrow(/unexpected end of file/);
  });
});
