// The shared line reader: lines cut anywhere by chunk boundaries (also inside a UTF-8 character), CRLF, a last
// line without newline, over-long lines cut (memory bounded), early stop; and looking at standard input's first
// lines without losing them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { forEachLine, forEachLineOfFile, peekLines } from '../../src/input/lines.js';

const collect = async (chunks: Buffer[], opts = {}) => {
  const out: [string, number][] = [];
  const n = await forEachLine(Readable.from(chunks), (l, i) => void out.push([l, i]), opts);
  return { out, n };
};

describe('forEachLine', () => {
  it('gives the same lines however the bytes are cut', async () => {
    const bytes = Buffer.from('Dec  2 a\r\nzweite Zeile mit Ümlaut\n\nlast without newline', 'utf8');
    const want = [['Dec  2 a', 1], ['zweite Zeile mit Ümlaut', 2], ['', 3], ['last without newline', 4]];
    for (let cut = 1; cut < bytes.length; cut++) {
      const { out, n } = await collect([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(out, `cut at ${cut}`).toEqual(want);
      expect(n).toBe(4);
    }
    const bytewise = await collect([...bytes].map((b) => Buffer.from([b])));
    expect(bytewise.out).toEqual(want);
  });

  it('cuts an over-long line and goes on with the next', async () => {
    const { out } = await collect([Buffer.from('x'.repeat(50)), Buffer.from('y'.repeat(50) + '\nnext\n')], { maxLineBytes: 30 });
    expect(out).toEqual([['x'.repeat(30), 1], ['next', 2]]);
  });

  it('stops when asked and destroys the source', async () => {
    const src = Readable.from([Buffer.from('a\nb\nc\n')]);
    const seen: string[] = [];
    await forEachLine(src, (l) => (seen.push(l), l !== 'b'));
    expect(seen).toEqual(['a', 'b']);
    expect(src.destroyed).toBe(true);
  });
});

describe('peekLines', () => {
  it('finds the first matching line and replays every byte', async () => {
    const src = Readable.from([Buffer.from('junk\nDec  2 05'), Buffer.from(':29:26 first\nrest\n')]);
    let found = '';
    const replay = await peekLines(src, (l) => (l.startsWith('Dec') ? ((found = l), true) : false));
    expect(found).toBe('Dec  2 05:29:26 first');
    expect(await text(replay)).toBe('junk\nDec  2 05:29:26 first\nrest\n');
  });
});

describe('forEachLineOfFile', () => {
  it('gives the lines forEachLine gives, across block boundaries, with CRLF, UTF-8, an over-long line and no final newline', async () => {
    const lines: string[] = [];
    for (let i = 0, bytes = 0; bytes < 3_500_000; i++) {
      lines.push(`${'Dec  2 05:29:26 mail'.padEnd(20 + ((i * 7919) % 300), 'x')} Grüße ${i}${i % 5 === 0 ? '\r' : ''}`);
      bytes += lines[i]!.length + 1;
    }
    lines.splice(1000, 0, 'y'.repeat(40_000));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-lines-'));
    const file = path.join(dir, 'big.log');
    writeFileSync(file, lines.join('\n'));
    const viaFile: string[] = [];
    const n = await forEachLineOfFile(file, (l, i) => void viaFile.push(`${i} ${l}`), { maxLineBytes: 30_000 });
    const viaStream: string[] = [];
    await forEachLine(Readable.from([Buffer.from(lines.join('\n'))]), (l, i) => void viaStream.push(`${i} ${l}`), { maxLineBytes: 30_000 });
    expect(n).toBe(lines.length);
    expect(viaFile).toEqual(viaStream);
    // A long line inside one block is whole (memory is bounded by the block); the cut is for a line that would
    // have to be carried across reads (see 'cuts an over-long line').
    expect(viaFile[1000]).toBe(`1001 ${'y'.repeat(40_000)}`);
    expect(viaFile[5]).toBe(`6 ${lines[5]!.replace(/\r$/, '')}`);
  });
});
