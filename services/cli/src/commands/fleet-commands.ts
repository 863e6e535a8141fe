import type { CliCommand } from '../cli-command.js';
import { applyCommand } from './apply.command.js';
import { demoCommand } from './demo.command.js';
import { nodeApproveCommand, nodeResetCommand } from './node-admin.command.js';
import { nodeModuleCommand } from './node-module.command.js';
import { nodesCommand } from './nodes.command.js';
import { planCommand } from './plan.command.js';
import { POLICY_COMMANDS } from './policy.command.js';
import { resumeCommand, rollbackCommand } from './rollback.command.js';
import { statusCommand } from './status.command.js';
import { TOKEN_COMMANDS } from './token.command.js';

/** The fleet commands (issue 5 item 4): clients of the coordinator HTTP API, and the embedded demo. */
export const FLEET_COMMANDS: readonly CliCommand[] = [
  planCommand,
  applyCommand,
  statusCommand,
  rollbackCommand,
  resumeCommand,
  ...POLICY_COMMANDS,
  nodesCommand,
  nodeModuleCommand,
  nodeApproveCommand,
  nodeResetCommand,
  demoCommand,
  ...TOKEN_COMMANDS,
];
