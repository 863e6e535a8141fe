import type { CliCommand } from '../cli-command.ts';

/** Every `tramway` sub-command. Add new commands here. */
export const COMMANDS: readonly CliCommand[] = [];
