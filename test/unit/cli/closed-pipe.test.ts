import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  CLOSED_PIPE_STATUS,
  IO_ERROR_STATUS,
  exitOnClosedPipe,
} from '../../../services/cli/src/closed-pipe.js';

const failure = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('exitOnClosedPipe', () => {
  it('exits quietly when the reader of stdout went away (EPIPE)', () => {
    const stdout = new EventEmitter();
    const exits: number[] = [];
    const notes: string[] = [];
    exitOnClosedPipe(
      [stdout],
      (s) => exits.push(s),
      (l) => notes.push(l),
    );

    stdout.emit('error', failure('EPIPE', 'write EPIPE'));

    expect(exits).toEqual([CLOSED_PIPE_STATUS]);
    expect(notes).toEqual([]);
  });

  it('names any other write failure in one line and exits 74', () => {
    const stderr = new EventEmitter();
    const exits: number[] = [];
    const notes: string[] = [];
    exitOnClosedPipe(
      [new EventEmitter(), stderr],
      (s) => exits.push(s),
      (l) => notes.push(l),
    );

    stderr.emit('error', failure('ENOSPC', 'no space left on device'));

    expect(exits).toEqual([IO_ERROR_STATUS]);
    expect(notes).toEqual(['tramway: cannot write output: no space left on device\n']);
  });
});
