import { Writable } from 'node:stream';

/** A pino destination that keeps every line, so that tests can parse and scan all of them (pino's own test helper idea). */
export class LogSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.lines.push(line);
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
  parsed(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
