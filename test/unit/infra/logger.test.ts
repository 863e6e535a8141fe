import { existsSync, readFileSync, statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogSink } from '@tramway/shared/infra';
import { createPinoLogger, openLogFile, resolveLogFormat } from '@tramway/shared/infra';
import { makeTempDir } from '../../support/temp-dir.js';

/** A sink keeping every line written. */
const lines = (): LogSink & { readonly lines: string[] } => {
  const kept: string[] = [];
  return { lines: kept, write: (line) => void kept.push(line) };
};
const parsed = (sink: { lines: string[] }): Record<string, unknown>[] =>
  sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('resolveLogFormat', () => {
  it('is pretty on a terminal and JSON elsewhere unless forced', () => {
    expect(resolveLogFormat(undefined, true)).toBe('pretty');
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat(undefined, false)).toBe('json');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });
});

describe('createPinoLogger, JSON', () => {
  it('writes one JSON object per line with time, level name, msg, base and meta', () => {
    const sink = lines();
    const log = createPinoLogger({
      level: 'info',
      format: 'json',
      destination: sink,
      base: { service: 'coordinator' },
    });
    log.info('coordinator serving', { url: 'http://127.0.0.1:7070' });
    expect(sink.lines).toHaveLength(1);
    expect(sink.lines[0]!.endsWith('\n')).toBe(true);
    const [line] = parsed(sink);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'coordinator serving',
      service: 'coordinator',
      url: 'http://127.0.0.1:7070',
    });
    expect(new Date(String(line!['time'])).toISOString()).toBe(line!['time']);
  });

  it('drops the levels under the one asked; fatal is always written', () => {
    const sink = lines();
    const log = createPinoLogger({ level: 'warn', format: 'json', destination: sink });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    log.fatal('f');
    expect(parsed(sink).map((l) => [l['level'], l['msg']])).toEqual([
      ['warn', 'w'],
      ['error', 'e'],
      ['fatal', 'f'],
    ]);
    const all = lines();
    createPinoLogger({ level: 'debug', format: 'json', destination: all }).debug('d');
    expect(parsed(all)[0]).toMatchObject({ level: 'debug', msg: 'd' });
  });

  it('gives a child its bindings on every line, nested children adding to them', () => {
    const sink = lines();
    const log = createPinoLogger({ level: 'info', format: 'json', destination: sink });
    const http = log.child({ part: 'http' });
    http.child({ requestId: 'r-1' }).info('request', { status: 200 });
    http.info('other');
    log.info('root');
    const [a, b, c] = parsed(sink);
    expect(a).toMatchObject({ part: 'http', requestId: 'r-1', status: 200, msg: 'request' });
    expect(b).toMatchObject({ part: 'http', msg: 'other' });
    expect(b).not.toHaveProperty('requestId');
    expect(c).not.toHaveProperty('part');
  });

  it('never writes tokens, authorization headers or key material', () => {
    const sink = lines();
    const log = createPinoLogger({ level: 'info', format: 'json', destination: sink });
    const secret = 'tw_0123456789abcdef';
    log.info('a', { token: secret, authorization: `Bearer ${secret}`, password: secret });
    log.child({ token: secret }).warn('b');
    log.info('c', {
      headers: { authorization: `Bearer ${secret}`, cookie: secret, host: 'x' },
      request: { token: secret, seed: secret },
    });
    const text = sink.lines.join('');
    expect(text).not.toContain(secret);
    const [a, b, c] = parsed(sink);
    expect(a).toMatchObject({ token: '[redacted]', authorization: '[redacted]' });
    expect(b).toMatchObject({ token: '[redacted]', msg: 'b' });
    expect(c).toMatchObject({
      headers: { authorization: '[redacted]', cookie: '[redacted]', host: 'x' },
      request: { token: '[redacted]', seed: '[redacted]' },
    });
  });
});

describe('createPinoLogger, pretty', () => {
  it('writes one readable line per record, without colours when asked', () => {
    const sink = lines();
    const log = createPinoLogger({
      level: 'info',
      format: 'pretty',
      destination: sink,
      colorize: false,
    });
    log.info('coordinator serving', { url: 'http://127.0.0.1:7070', token: 'tw_secret' });
    expect(sink.lines).toHaveLength(1);
    const line = sink.lines[0]!;
    expect(() => JSON.parse(line) as unknown).toThrow();
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: coordinator serving /);
    expect(line).toContain('"url":"http://127.0.0.1:7070"');
    expect(line).not.toContain('tw_secret');
    expect(line.trimEnd().split('\n')).toHaveLength(1);
    expect(line).not.toContain('\u001b[');
  });
});

describe('openLogFile', () => {
  const dir = makeTempDir('tramway-log-file-');
  afterAll(() => dir.remove());

  it('appends lines and, over its limit, keeps the previous file as .1', () => {
    const path = dir.file('logs/tramway.log');
    const file = openLogFile(path, 1024);
    const line = `${'x'.repeat(99)}\n`; // 100 bytes
    for (let i = 0; i < 10; i++) file.write(line);
    expect(statSync(path).size).toBe(1000);
    expect(existsSync(`${path}.1`)).toBe(false);
    file.write(line);
    expect(statSync(`${path}.1`).size).toBe(1000);
    expect(statSync(path).size).toBe(100);
    for (let i = 0; i < 25; i++) file.write(line);
    // never more than the limit in either file
    expect(statSync(path).size).toBeLessThanOrEqual(1024);
    expect(statSync(`${path}.1`).size).toBeLessThanOrEqual(1024);
    file.close();
    file.write('after close\n');
    expect(readFileSync(path, 'utf8')).not.toContain('after close');
  });

  it('continues an existing file, counting what it holds', () => {
    const path = dir.file('again.log');
    const first = openLogFile(path, 1024);
    for (let i = 0; i < 9; i++) first.write(`${'y'.repeat(99)}\n`);
    first.close();
    const second = openLogFile(path, 1024);
    second.write(`${'z'.repeat(99)}\n`);
    expect(statSync(path).size).toBe(1000);
    second.write(`${'z'.repeat(99)}\n`);
    expect(statSync(path).size).toBe(100);
    second.close();
  });

  it('refuses a limit too small to hold lines', () => {
    expect(() => openLogFile(dir.file('x.log'), 10)).toThrow(/log file limit 10/);
  });

  it('feeds a pino logger: JSON lines in the file', () => {
    const file = openLogFile(dir.file('pino.log'));
    const log = createPinoLogger({ level: 'info', format: 'json', destination: file });
    log.child({ service: 'agent', nodeId: 'web-1' }).info('agent started');
    file.close();
    const [line] = readFileSync(file.path, 'utf8').trim().split('\n');
    expect(JSON.parse(line!)).toMatchObject({
      level: 'info',
      msg: 'agent started',
      service: 'agent',
      nodeId: 'web-1',
    });
  });
});
