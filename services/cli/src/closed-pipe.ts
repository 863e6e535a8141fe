/**
 * A reader that goes away early (`tramway kernel functions --json | head`) closes the pipe: the
 * next write fails with EPIPE, which Node raises as an 'error' event that would crash the
 * process with a stack trace. The CLI stops quietly instead, as Unix tools do.
 */

/** The exit status when stdout's reader went away: nothing is wrong, nobody reads any more. */
export const CLOSED_PIPE_STATUS = 0;
/** EX_IOERR (sysexits.h): any other failure to write to a standard stream */
export const IO_ERROR_STATUS = 74;

interface ErrorEmitter {
  on(event: 'error', listener: (error: Error & { code?: string }) => void): unknown;
}

/** Handles write errors on `streams`: EPIPE exits quietly, anything else exits 74 after a one-line note. */
export const exitOnClosedPipe = (
  streams: readonly ErrorEmitter[],
  exit: (status: number) => void,
  note: (line: string) => void,
): void => {
  for (const stream of streams)
    stream.on('error', (error) => {
      if (error.code === 'EPIPE') {
        exit(CLOSED_PIPE_STATUS);
        return;
      }
      note(`tramway: cannot write output: ${error.message}\n`);
      exit(IO_ERROR_STATUS);
    });
};
