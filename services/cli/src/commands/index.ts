import type { CliCommand, CliIo } from '../cli-command.js';

/**
 * Every `tramway` sub-command. Add new commands here.
 *
 * The table is lazy: each entry holds only what the help and the dispatcher need (path, usage,
 * summary); the command's module, and whatever it pulls in (SQLite, NATS, zod, the BTF parser),
 * is loaded by `import()` when that command runs, so `tramway --help` or `tramway nodes` do not
 * pay for the others (and the built bundle keeps each in its own chunk). The metadata repeats the
 * module's own; test/unit/cli/command-table.test.ts checks that they agree.
 */
const lazy = (
  path: readonly string[],
  usage: string,
  summary: string,
  load: () => Promise<CliCommand>,
): CliCommand => ({
  path,
  usage,
  summary,
  run: async (args: readonly string[], io: CliIo) => (await load()).run(args, io),
});

export const COMMANDS: readonly CliCommand[] = [
  lazy(
    ['kernel', 'run'],
    'kernel run [--compact] FILE...',
    'run kernel scenario files against the kernel model',
    async () => (await import('./kernel-run.command.js')).kernelRunCommand,
  ),
  lazy(
    ['kernel', 'probe'],
    'kernel probe [--json] [--root DIR]',
    "probe the host kernel's BTF, symbols and multi-link support",
    async () => (await import('./kernel-probe.command.js')).kernelProbeCommand,
  ),
  lazy(
    ['kernel', 'functions'],
    'kernel functions [--btf FILE [--base FILE]] [--root DIR] [--json]',
    'list every BTF function with its prototype as C',
    async () => (await import('./kernel-functions.command.js')).kernelFunctionsCommand,
  ),
  lazy(
    ['kernel', 'resolve'],
    'kernel resolve PATTERN... --attach TYPE [--origin NAME] [--reads 0,1,ret] [--profile v24|v26] [--btf FILE [--base FILE]] [--root DIR] [--json]',
    'resolve function patterns and check each match for attach',
    async () => (await import('./kernel-resolve.command.js')).kernelResolveCommand,
  ),
  lazy(
    ['audit', 'rebuild'],
    'audit rebuild --db FILE [--read-model FILE] [--json]',
    'rebuild the audit read model from position 0 of the log',
    async () => (await import('./audit.command.js')).auditRebuildCommand,
  ),
  lazy(
    ['audit'],
    'audit --actor <actor> [--since T] [--until T] --db FILE [--json]',
    'same as `audit actor`',
    async () => (await import('./audit.command.js')).auditCommand,
  ),
  lazy(
    ['audit', 'actor'],
    'audit actor <actor> [--since T] [--until T] [--limit N] --db FILE [--json]',
    'everything an actor did in a time range (occurredAt, inclusive)',
    async () => (await import('./audit.command.js')).auditActorCommand,
  ),
  lazy(
    ['audit', 'function'],
    'audit function <name> --node <id> [--limit N] --db FILE [--json]',
    'who connected what to a kernel function on a node, and when',
    async () => (await import('./audit.command.js')).auditFunctionCommand,
  ),
  lazy(
    ['audit', 'program'],
    'audit program <name> [--node <id>] [--limit N] --db FILE [--json]',
    'history of a BPF program: loads, links, releases, failures',
    async () => (await import('./audit.command.js')).auditProgramCommand,
  ),
  lazy(
    ['audit', 'policy'],
    'audit policy <name> [--limit N] --db FILE [--json]',
    'history of a policy: applied, removed, rollouts, waves, links',
    async () => (await import('./audit.command.js')).auditPolicyCommand,
  ),
  lazy(
    ['audit', 'state'],
    'audit state (--at T | --position N) [--node <id>] --db FILE [--json]',
    'the fleet (or one node) as it stood at a past instant or log position',
    async () => (await import('./audit.command.js')).auditStateCommand,
  ),
  lazy(
    ['audit', 'plan'],
    'audit plan --node <id> [--policy <name>] [--at T | --position N] --db FILE [--read-model FILE] [--json]',
    'which functions a node was told to trace, and when (plans, assignments, re-plans)',
    async () => (await import('./audit-plan.command.js')).auditPlanCommand,
  ),
  lazy(
    ['plan'],
    'plan -f POLICY [--json] [--url URL]',
    'dry-run a policy: per node functions, path, failures, headroom',
    async () => (await import('./plan.command.js')).planCommand,
  ),
  lazy(
    ['apply'],
    'apply -f POLICY [--json] [--url URL] [--token T] [--on-behalf-of WHO]',
    'apply a policy: plan it, then roll it out wave by wave',
    async () => (await import('./apply.command.js')).applyCommand,
  ),
  lazy(
    ['status'],
    'status [POLICY] [--watch [--interval-ms N] [--timeout-s N]] [--json] [--url URL]',
    'rollout progress per wave, node and function',
    async () => (await import('./status.command.js')).statusCommand,
  ),
  lazy(
    ['rollback'],
    'rollback POLICY [--reason TEXT] [--json] [--url URL] [--token T] [--on-behalf-of WHO]',
    'roll a policy back to its previous version',
    async () => (await import('./rollback.command.js')).rollbackCommand,
  ),
  lazy(
    ['resume'],
    'resume ROLLOUT [--json] [--url URL] [--token T] [--on-behalf-of WHO]',
    'resume a rollout held by its failure gate',
    async () => (await import('./rollback.command.js')).resumeCommand,
  ),
  lazy(
    ['nodes'],
    'nodes [--json] [--url URL]',
    'list the fleet: labels, profile, attach path, generations, health',
    async () => (await import('./nodes.command.js')).nodesCommand,
  ),
  lazy(
    ['node', 'module'],
    'node module load|unload NODE MODULE [--json] [--url URL]',
    'load or (drain and) unload a module on a simulated node',
    async () => (await import('./node-module.command.js')).nodeModuleCommand,
  ),
  lazy(
    ['node', 'approve'],
    'node approve NODE [--reason TEXT] [--json] [--url URL] [--token T] [--on-behalf-of WHO]',
    'admit a pending node (it then gets assignments and counts in rollouts)',
    async () => (await import('./node-admin.command.js')).nodeApproveCommand,
  ),
  lazy(
    ['node', 'reset'],
    'node reset NODE [--reason TEXT] [--json] [--url URL] [--token T] [--on-behalf-of WHO]',
    'take a node back with a new epoch (its next assignment wins over what it holds)',
    async () => (await import('./node-admin.command.js')).nodeResetCommand,
  ),
  lazy(
    ['demo'],
    'demo [--until-converged] [--timeout-s N] [--fleet FILE] [-f POLICY] [--data-dir DIR] [--port N] [--host H] [--allowed-hosts NAMES] [--sqlite-synchronous normal|full] [--json]',
    'run the coordinator and 3 simulated nodes in this process and apply a policy',
    async () => (await import('./demo.command.js')).demoCommand,
  ),
  lazy(
    ['token', 'create'],
    'token create --name NAME --role viewer|operator|admin [--json] [--url URL]',
    'issue an API token (printed once) for a person or a tool',
    async () => (await import('./token.command.js')).tokenCreateCommand,
  ),
  lazy(
    ['token', 'list'],
    'token list [--json] [--url URL]',
    'list API tokens: name, role, active or revoked',
    async () => (await import('./token.command.js')).tokenListCommand,
  ),
  lazy(
    ['token', 'revoke'],
    'token revoke NAME [--reason TEXT] [--json] [--url URL]',
    'revoke an API token',
    async () => (await import('./token.command.js')).tokenRevokeCommand,
  ),
  lazy(
    ['security', 'init'],
    'security init [--dir DIR] [--nodes ID,ID...] [--auto-approve] [--host NAME ...] [--force] [--nats-listen HOST:PORT] [--nats-store DIR] [--nats-monitor HOST:PORT] [--mount DIR]',
    'create the CA, certificates, NATS identities and nats-server.conf of an installation',
    async () => (await import('./security.command.js')).securityInitCommand,
  ),
  lazy(
    ['security', 'add-node'],
    'security add-node NODE [--auto-approve] [--rotate] [--dir DIR]',
    "add a node's NATS identity (--rotate: a new seed for a known node)",
    async () => (await import('./security.command.js')).securityAddNodeCommand,
  ),
  lazy(
    ['security', 'remove-node'],
    'security remove-node NODE [--dir DIR]',
    "revoke a node's NATS identity (its seed and registry entry)",
    async () => (await import('./security.command.js')).securityRemoveNodeCommand,
  ),
  lazy(
    ['security', 'issue-client'],
    'security issue-client --name NAME --role viewer|operator|admin [--dir DIR]',
    "issue a person's client certificate (mTLS on the HTTP API)",
    async () => (await import('./security.command.js')).securityIssueClientCommand,
  ),
];
