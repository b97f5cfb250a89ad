// The `loupe` command line: the commands of the command table (cli/commands.ts), their help, and
// exit codes. Library errors (LoupeError, CancelledError included) print as one line and exit 1;
// anything else is a bug: one line, exit 2, and the stack with --verbose.
import { LoupeError } from '../engine/errors.ts';
import { explainer } from '../explainers/registry.ts';
import { command, commandHelp, methodHelp, usage } from './commands.ts';
import { methodOf } from './explain.ts';

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  argv = argv.filter((a) => a !== '--verbose');
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
      console.log(usage());
      return cmd === undefined ? 1 : 0;
    }
    const c = command(cmd);
    if (!c) {
      console.error(`loupe: unknown command "${cmd}" (loupe --help lists the commands)`);
      return 1;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      const method = c.name === 'explain' ? methodOf(rest) : undefined;
      console.log(method ? methodHelp(explainer(method)) : commandHelp(c));
      return 0;
    }
    return await c.run(rest);
  } catch (e) {
    if (e instanceof LoupeError) {
      console.error(`loupe: ${e.message}`);
      if (verbose) console.error(e.stack);
      return 1;
    }
    const err = e as Error;
    console.error(`loupe: internal error: ${err?.message ?? String(e)}${verbose ? '' : ' (run with --verbose for details)'}`);
    if (verbose) console.error(err?.stack);
    return 2;
  }
}
