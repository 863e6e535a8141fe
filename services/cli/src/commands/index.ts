import type { CliCommand } from '../cli-command.js';
import { kernelRunCommand } from './kernel-run.command.js';
import { kernelFunctionsCommand } from './kernel-functions.command.js';
import { kernelProbeCommand } from './kernel-probe.command.js';
import { kernelResolveCommand } from './kernel-resolve.command.js';
import { AUDIT_COMMANDS } from './audit.command.js';
import { FLEET_COMMANDS } from './fleet-commands.js';
import { SECURITY_COMMANDS } from './security.command.js';

/** Every `tramway` sub-command. Add new commands here. */
export const COMMANDS: readonly CliCommand[] = [
  kernelRunCommand,
  kernelProbeCommand,
  kernelFunctionsCommand,
  kernelResolveCommand,
  ...AUDIT_COMMANDS,
  ...FLEET_COMMANDS,
  ...SECURITY_COMMANDS,
];
