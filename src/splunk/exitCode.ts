/**
 * Ends a program run by splunkd: sets the exit code without process.exit(), so what is queued on
 * stdout and stderr (pipes, written asynchronously) still reaches splunkd.
 */
export function exitWhenDone(run: Promise<number>): void {
  run.then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ERROR ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
