/**
 * `docker service logs` / task logs: the logs of every task container, merged into one stream
 * in the Engine API's service-logs format. Each line goes out as its own stdcopy frame with
 * swarm mode's details (`com.docker.swarm.node.id=...,com.docker.swarm.service.id=...,
 * com.docker.swarm.task.id=...`) before the message, after the timestamp when asked for, which
 * is what the docker CLI parses to print `web.1.<task>@node-1    | message`.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import type { Engine } from '../engine/engine';
import type { Task } from './model';

export interface LogOptions {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  tail: string;
  since?: string;
  details: boolean;
}

export interface LogSource {
  task: Task;
  engine: Engine;
  containerId: string;
  tty: boolean;
}

function frame(stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/**
 * Splits an engine's multiplexed (or raw, for TTY) log stream into (stream, line) pairs. A
 * multi-byte UTF-8 character may straddle two chunks or two frames: each stream's decoder
 * keeps the incomplete bytes until the rest arrives.
 */
export class Demuxer {
  private pending: Buffer = Buffer.alloc(0);
  private readonly partial: Record<number, string> = { 1: '', 2: '' };
  private readonly decoders: Record<number, StringDecoder> = { 1: new StringDecoder('utf8'), 2: new StringDecoder('utf8') };

  constructor(private readonly tty: boolean, private readonly onLine: (stream: number, line: string) => void) {}

  push(chunk: Buffer): void {
    if (this.tty) {
      this.text(1, this.decoders[1].write(chunk));
      return;
    }
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const stream = this.pending[0] === 2 ? 2 : 1;
      this.text(stream, this.decoders[stream].write(this.pending.subarray(8, 8 + size)));
      this.pending = this.pending.subarray(8 + size);
    }
  }

  end(): void {
    for (const stream of [1, 2]) {
      const rest = this.partial[stream] + this.decoders[stream].end();
      if (rest) this.onLine(stream, rest);
    }
  }

  private text(stream: number, text: string): void {
    const lines = (this.partial[stream] + text).split('\n');
    this.partial[stream] = lines.pop() ?? '';
    for (const line of lines) this.onLine(stream, line);
  }
}

/**
 * Writes the merged logs of `sources` to `out`; resolves when every source ended (never, when
 * following, until `out` closes).
 */
export async function streamServiceLogs(sources: LogSource[], options: LogOptions, out: Writable, tty: boolean): Promise<void> {
  const streams: Readable[] = [];
  out.on('close', () => streams.forEach((s) => s.destroy()));
  await Promise.all(sources.map(async (source) => {
    const details = `com.docker.swarm.node.id=${source.task.NodeID},com.docker.swarm.service.id=${source.task.ServiceID},com.docker.swarm.task.id=${source.task.ID}`;
    const write = (stream: number, line: string): void => {
      let text = line;
      if (options.details) {
        if (options.timestamps) {
          const space = text.indexOf(' ');
          text = space > 0 ? `${text.slice(0, space)} ${details} ${text.slice(space + 1)}` : `${text} ${details} `;
        } else {
          text = `${details} ${text}`;
        }
      }
      const payload = Buffer.from(`${text}\n`, 'utf8');
      if (!out.writableEnded) out.write(tty ? payload : frame(stream, payload));
    };
    const query = new URLSearchParams({
      stdout: options.stdout ? '1' : '0', stderr: options.stderr ? '1' : '0', follow: options.follow ? '1' : '0',
      timestamps: options.timestamps ? '1' : '0', tail: options.tail || 'all',
    });
    if (options.since) query.set('since', options.since);
    let stream: Readable;
    try {
      const response = await source.engine.stream('GET', `/containers/${source.containerId}/logs?${query.toString()}`);
      if ((response.statusCode ?? 500) >= 400) {
        response.resume();
        return; // the task's container is gone: its logs are too
      }
      stream = response;
    } catch {
      return; // the task's engine is gone: its logs are too
    }
    streams.push(stream);
    const demux = new Demuxer(source.tty, write);
    await new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => demux.push(chunk));
      stream.on('end', () => {
        demux.end();
        resolve();
      });
      stream.on('error', () => resolve());
      stream.on('close', () => resolve());
    });
  }));
}
