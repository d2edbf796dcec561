/**
 * Service logs: the engine's log stream is split into lines per stream. A multi-byte UTF-8
 * character may arrive split across two reads (TTY) or two stdcopy frames (a container's write
 * that the engine cut in two): the line must come out whole.
 */
import assert from 'node:assert/strict';
import { Demuxer } from '../../../lib/services/logs';

function frame(stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function lines(tty: boolean, chunks: Buffer[]): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  const demuxer = new Demuxer(tty, (stream, line) => out.push([stream, line]));
  for (const chunk of chunks) demuxer.push(chunk);
  demuxer.end();
  return out;
}

describe('service logs demultiplexer', function () {
  const text = Buffer.from('café 日本 🚀\nzwei\n');

  it('TTY: a character split between two reads stays whole', function () {
    for (let cut = 1; cut < text.length; cut++) {
      assert.deepEqual(lines(true, [text.subarray(0, cut), text.subarray(cut)]), [[1, 'café 日本 🚀'], [1, 'zwei']], `cut at ${cut}`);
    }
  });

  it('multiplexed: a character split between two frames stays whole, per stream', function () {
    for (let cut = 1; cut < text.length; cut++) {
      const stdout = [frame(1, text.subarray(0, cut)), frame(1, text.subarray(cut))];
      const stderr = frame(2, Buffer.from('ünterbrochen\n'));
      // Frames of both streams interleaved, and the whole cut again at an odd byte.
      const all = Buffer.concat([stdout[0], stderr, stdout[1]]);
      const got = lines(false, [all.subarray(0, 11), all.subarray(11)]);
      assert.deepEqual(got.filter(([s]) => s === 1).map(([, l]) => l), ['café 日本 🚀', 'zwei'], `cut at ${cut}`);
      assert.deepEqual(got.filter(([s]) => s === 2).map(([, l]) => l), ['ünterbrochen']);
    }
  });

  it('an unterminated last line is still delivered at the end', function () {
    assert.deepEqual(lines(true, [Buffer.from('no newline ü')]), [[1, 'no newline ü']]);
  });
});
