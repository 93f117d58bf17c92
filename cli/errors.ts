// One error type for everything the CLI reports to a person: a message to print and the exit
// code the process ends with (see exit-codes.ts).
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CliError";
  }
}
