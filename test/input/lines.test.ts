// The shared line reader: lines cut anywhere by chunk boundaries (also inside a UTF-8 character), CRLF, a last
// line without newline, over-long lines cut (memory bounded), early stop; and looking at standard input's first
// lines without losing them.
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { forEachLine, peekLines } from '../../src/input/lines.js';

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
