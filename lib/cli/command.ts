/** One `swarm <command>`: its own file in lib/cli, registered in lib/cli/commands.ts. */
export interface Command {
  name: string;
  aliases: string[];
  /** One line for `swarm help`. */
  summary: string;
  /** Full text for `swarm <command> --help` and `swarm help <command>`. */
  help: string;
  /** Runs the command. Resolves when a one-shot command is done; long-running ones never resolve. */
  run(args: string[]): Promise<void>;
}

/** A user error: printed as one line ("swarm: <message>") with exit status 1, no stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
