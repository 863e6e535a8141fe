/**
 * The `tramway` command tree: every command's name, arguments, options, description and
 * examples, and where its implementation is. Light on purpose: `tramway --version`, `--help` and
 * `completion` import this and commander only; a command's module (and everything it pulls in:
 * BTF parsing, SQLite, the HTTP client, the embedded fleet) is imported when that command runs.
 */
import type { CommandRun } from './cli-command.js';

/** One option, in commander's syntax (`-f, --file <POLICY>`, `--json`). */
export interface OptionSpec {
  readonly flags: string;
  readonly description: string;
  /** the values the option accepts (shown in help, completed, checked by the parser) */
  readonly choices?: readonly string[];
  /** may be given several times; every value is kept (in `SplitArgs.lists`) */
  readonly repeatable?: boolean;
}

export interface CommandSpec {
  readonly name: string;
  /** one line, shown in the parent's command list */
  readonly summary: string;
  /** more about it, shown at the top of its own --help */
  readonly description?: string;
  /** commander argument syntax: `<policy>`, `[policy]`, `<file...>` */
  readonly args?: readonly string[];
  readonly options?: readonly OptionSpec[];
  /** takes the coordinator connection options (--url, --token, TLS, --on-behalf-of) */
  readonly fleet?: boolean;
  /** prints data: takes `-o table|json|yaml|wide` and `--json` */
  readonly output?: boolean;
  /** realistic command lines, each with what it does (at least one) */
  readonly examples: readonly (readonly [command: string, what: string])[];
  /** the implementation, imported when the command runs; absent for a pure group */
  readonly load?: () => Promise<CommandRun>;
  readonly subcommands?: readonly CommandSpec[];
}

const BTF_OPTIONS: readonly OptionSpec[] = [
  { flags: '--btf <FILE>', description: 'a saved BTF blob instead of the host kernel' },
  { flags: '--base <FILE>', description: "with --btf: the vmlinux a module's split BTF needs" },
  { flags: '--root <DIR>', description: 'read the host kernel under DIR (default /)' },
];

const AUDIT_SOURCE: readonly OptionSpec[] = [
  {
    flags: '--db <FILE>',
    description:
      "read this local event log (SQLite), e.g. .tramway/log.sqlite, instead of the coordinator's API",
  },
  {
    flags: '--read-model <FILE>',
    description: 'where the read model is kept (default: in --db)',
  },
];
const LIMIT: OptionSpec = {
  flags: '--limit <N>',
  description: 'show at most N entries (default 1000)',
};
const REASON: OptionSpec = {
  flags: '--reason <TEXT>',
  description: 'why, recorded in the audit log',
};
const POLICY_FILE: OptionSpec = {
  flags: '-f, --file <POLICY>',
  description: 'the TracingPolicy file (YAML or JSON)',
};
const ROLES = ['viewer', 'operator', 'admin'] as const;
/** Waiting for a rollout a command started (rollback, policy delete). */
const FOLLOW: readonly OptionSpec[] = [
  { flags: '--no-wait', description: 'answer at once instead of following the rollout' },
  { flags: '--interval-ms <N>', description: 'poll every N ms while waiting (default 500)' },
  { flags: '--timeout-s <N>', description: 'stop waiting after N s, exit 1 (default 600)' },
];

const KERNEL: CommandSpec = {
  name: 'kernel',
  summary: "this host's kernel: BTF functions, multi-link",
  description:
    'Reads the BTF and symbols of the host kernel (or a saved BTF blob) and answers what a ' +
    'tracing multi-link could attach to, with the kernel model.',
  examples: [
    ['tramway kernel probe', 'what this kernel offers for tracing multi-links'],
    ['tramway kernel functions | grep tcp_', 'every traceable function, as C'],
  ],
  subcommands: [
    {
      name: 'run',
      summary: 'run kernel scenario files against the kernel model',
      description:
        'Runs kernel scenario files (design/kernel-scenarios.md) and prints one JSON document per ' +
        'valid file. Malformed files and failed expectations are reported on stderr as ' +
        'FILE: WHERE: MESSAGE. Exit 1 when an expectation failed, 2 when a file is malformed.',
      args: ['<file...>'],
      options: [{ flags: '--compact', description: 'one line per document' }],
      examples: [
        ['tramway kernel run examples/kernel/*.yaml', 'run every example scenario'],
        ['tramway kernel run --compact s.yaml | jq .steps', 'one line of JSON per file'],
      ],
      load: async () => (await import('./commands/kernel-run.command.js')).runKernelRun,
    },
    {
      name: 'probe',
      summary: "probe the host kernel's BTF, symbols and multi-link support",
      description:
        'Release, BTF objects with function counts, the multi-link profile, the attach path ' +
        'chosen from the fallback ladder, and what could not be read. Exit 1 when the vmlinux ' +
        'BTF is unreadable.',
      options: [
        { flags: '--root <DIR>', description: 'read the host kernel under DIR (default /)' },
      ],
      output: true,
      examples: [
        ['tramway kernel probe', 'this host'],
        ['tramway kernel probe -o yaml --root /mnt/node1', 'a node image mounted under /mnt/node1'],
      ],
      load: async () => (await import('./commands/kernel-probe.command.js')).runKernelProbe,
    },
    {
      name: 'functions',
      summary: 'list every BTF function with its prototype as C',
      description:
        'Every FUNC of the host BTF (vmlinux, then each module) or of a saved blob: object, BTF ' +
        'id, linkage and prototype, tab-separated. With -o json, an array of ' +
        '{ name, object, btfId, linkage, ret, params }. Exit 1 when some host BTF is unreadable.' +
        ' The JSON of given BTF bytes is kept (by sha256) in ~/.cache/tramway, or ' +
        '$TRAMWAY_CACHE_DIR; TRAMWAY_NO_CACHE=1 or --no-cache makes it anew.',
      options: [
        ...BTF_OPTIONS,
        { flags: '--no-cache', description: 'decode the BTF even if its JSON listing is kept' },
      ],
      output: true,
      examples: [
        ['tramway kernel functions | grep -w tcp_sendmsg', 'one function of the host'],
        ['tramway kernel functions --btf vmlinux.btf -o json', 'a saved blob, as JSON'],
        ['tramway kernel functions --btf nf_tables.btf --base vmlinux.btf', "a module's split BTF"],
      ],
      load: async () => (await import('./commands/kernel-functions.command.js')).runKernelFunctions,
    },
    {
      name: 'resolve',
      summary: 'resolve function patterns and check each match for attach',
      description:
        'Which functions the patterns match on this node (or in a saved blob) and whether a ' +
        "program of the attach type could attach to each, with the kernel model's errno and\n" +
        'reason when not. Exit 1 when a pattern matched nothing or a match is refused.',
      args: ['<pattern...>'],
      options: [
        { flags: '--attach <TYPE>', description: 'fentry|fexit|fmod_ret|fsession[.multi][.s]' },
        { flags: '--origin <NAME>', description: 'the object the program is loaded against' },
        {
          flags: '--reads <LIST>',
          description: "argument indexes read (0-63) and 'ret', e.g. 0,1",
        },
        {
          flags: '--profile <PROFILE>',
          description: 'simulate this multi-link kernel (default: probed)',
          choices: ['v24', 'v26'],
        },
        ...BTF_OPTIONS,
      ],
      output: true,
      examples: [
        ["tramway kernel resolve 'tcp_*' --attach fentry.multi", 'every tcp_ function'],
        [
          'tramway kernel resolve tcp_sendmsg --attach fexit --reads 0,ret -o json',
          'one function, reading arg 0 and the return value',
        ],
      ],
      load: async () => (await import('./commands/kernel-resolve.command.js')).runKernelResolve,
    },
  ],
};

const audit =
  (
    name:
      | 'runAudit'
      | 'runAuditActor'
      | 'runAuditFunction'
      | 'runAuditProgram'
      | 'runAuditPolicy'
      | 'runAuditState'
      | 'runAuditRebuild',
  ) =>
  async (): Promise<CommandRun> =>
    (await import('./commands/audit.command.js'))[name];

const AUDIT: CommandSpec = {
  name: 'audit',
  summary: 'who did what, when: the event log read back',
  description:
    "Reads the event log through the coordinator's API (--url, TRAMWAY_URL; with neither, the " +
    'default URL, or ./.tramway/log.sqlite when no coordinator answers there), or a local log ' +
    'file (--db), and answers questions about the past. Without a subcommand, the same as ' +
    '`audit actor` with --actor.',
  options: [
    ...AUDIT_SOURCE,
    { flags: '--actor <ACTOR>', description: 'the actor, e.g. user:alice or token:ci' },
    {
      flags: '--since <T>',
      description: 'from T (inclusive): RFC 3339, now, or 90s/30m/1h/2d ago',
    },
    { flags: '--until <T>', description: 'up to T (inclusive): RFC 3339, now, or a duration ago' },
    LIMIT,
  ],
  output: true,
  fleet: true,
  examples: [
    ['tramway audit --actor user:alice --since 1h', 'what alice did in the last hour'],
    [
      'tramway audit state --at 10m --db .tramway/log.sqlite',
      'the fleet 10 minutes ago, from a local log',
    ],
  ],
  load: audit('runAudit'),
  subcommands: [
    {
      name: 'actor',
      summary: 'everything an actor did in a time range (occurredAt, inclusive)',
      args: ['<actor>'],
      options: [
        ...AUDIT_SOURCE,
        {
          flags: '--since <T>',
          description: 'from T (inclusive): RFC 3339, now, or 90s/30m/1h/2d ago',
        },
        {
          flags: '--until <T>',
          description: 'up to T (inclusive): RFC 3339, now, or a duration ago',
        },
        LIMIT,
      ],
      output: true,
      fleet: true,
      examples: [
        [
          'tramway audit actor user:alice --since 2026-11-24',
          'since midnight UTC, from the coordinator',
        ],
      ],
      load: audit('runAuditActor'),
    },
    {
      name: 'function',
      summary: 'who connected what to a kernel function on a node, and when',
      args: ['<name>'],
      options: [...AUDIT_SOURCE, { flags: '--node <ID>', description: 'the node' }, LIMIT],
      output: true,
      fleet: true,
      examples: [['tramway audit function tcp_sendmsg --node web-1', '']],
      load: audit('runAuditFunction'),
    },
    {
      name: 'program',
      summary: 'history of a BPF program: loads, links, releases, failures',
      args: ['<name>'],
      options: [...AUDIT_SOURCE, { flags: '--node <ID>', description: 'only on this node' }, LIMIT],
      output: true,
      fleet: true,
      examples: [['tramway audit program tcp_latency --node web-1 --db .tramway/log.sqlite', '']],
      load: audit('runAuditProgram'),
    },
    {
      name: 'policy',
      summary: 'history of a policy: applied, removed, rollouts, waves, links',
      args: ['<name>'],
      options: [...AUDIT_SOURCE, LIMIT],
      output: true,
      fleet: true,
      examples: [['tramway audit policy tcp-latency', '']],
      load: audit('runAuditPolicy'),
    },
    {
      name: 'state',
      summary: 'the fleet (or one node) as it stood at a past instant or log position',
      description: 'Give exactly one of --at and --position.',
      options: [
        ...AUDIT_SOURCE,
        { flags: '--at <T>', description: 'RFC 3339, now, or a duration ago (30m, 2d)' },
        { flags: '--position <N>', description: 'a position in the log' },
        { flags: '--node <ID>', description: "one node's links and trampolines" },
      ],
      output: true,
      fleet: true,
      examples: [
        ['tramway audit state --at now --node web-1', 'web-1 now'],
        ['tramway audit state --position 120 --node web-1 --db .tramway/log.sqlite', ''],
      ],
      load: audit('runAuditState'),
    },
    {
      name: 'plan',
      summary: 'which functions a node was told to trace, and when',
      description: 'Plans recorded and re-plans, assignments, and the functions of the last plan.',
      options: [
        ...AUDIT_SOURCE,
        { flags: '--node <ID>', description: 'the node (required)' },
        { flags: '--policy <NAME>', description: 'only this policy' },
        { flags: '--at <T>', description: 'as of T: RFC 3339, now, or a duration ago' },
        { flags: '--position <N>', description: 'as of this position in the log' },
      ],
      output: true,
      fleet: true,
      examples: [['tramway audit plan --node web-1 --policy tcp-latency --db log.sqlite', '']],
      load: async () => (await import('./commands/audit-plan.command.js')).runAuditPlan,
    },
    {
      name: 'rebuild',
      summary: 'rebuild the audit read model of a local log file (--db) from position 0',
      options: AUDIT_SOURCE,
      output: true,
      examples: [['tramway audit rebuild --db .tramway/log.sqlite', '']],
      load: audit('runAuditRebuild'),
    },
  ],
};

const fleet =
  <K extends string>(module: () => Promise<Record<K, CommandRun>>, name: K) =>
  async () =>
    (await module())[name];

const FLEET: readonly CommandSpec[] = [
  {
    name: 'plan',
    summary: 'dry-run a policy: what each node would attach',
    description:
      'Asks the coordinator what applying the policy would do on each node, without doing it, ' +
      'and shows per node the functions it would add, remove or leave against what runs (the ' +
      'version in force, or a new policy). Exit 1 when the policy would be refused.',
    options: [POLICY_FILE],
    fleet: true,
    output: true,
    examples: [
      ['tramway plan -f examples/policies/tcp-latency.yaml', ''],
      ['tramway plan -f p.yaml -o json | jq .refused', 'why it would be refused'],
    ],
    load: fleet(() => import('./commands/plan.command.js'), 'runPlan'),
  },
  {
    name: 'apply',
    summary: 'apply a policy: plan it, roll it out in waves',
    description:
      "Records the policy's next version and starts its rollout in waves; the spec in force\n" +
      'again says "unchanged" (nothing recorded, nothing rolled out). Exit 1 when refused\n' +
      'at plan time or a rollout of it is still running.',
    options: [POLICY_FILE],
    fleet: true,
    output: true,
    examples: [['tramway apply -f examples/policies/tcp-latency.yaml', '']],
    load: fleet(() => import('./commands/apply.command.js'), 'runApply'),
  },
  {
    name: 'status',
    summary: 'rollout progress per wave, node and function',
    description:
      'Without POLICY, every node. With --watch, follows the rollout until it completes, is ' +
      'held or times out (exit 1 then).',
    args: ['[policy]'],
    options: [
      { flags: '--watch', description: 'follow the rollout until it settles' },
      { flags: '--interval-ms <N>', description: 'poll every N ms while watching (default 500)' },
      { flags: '--timeout-s <N>', description: 'stop watching after N s (default 3600)' },
    ],
    fleet: true,
    output: true,
    examples: [
      ['tramway status', 'every node'],
      ['tramway status tcp-latency --watch', 'follow a rollout'],
    ],
    load: fleet(() => import('./commands/status.command.js'), 'runStatus'),
  },
  {
    name: 'rollback',
    summary: 'roll a policy back to its previous version and wait until its nodes are back',
    description:
      "The version the policy's latest rollout replaced is in force again, and a rollout of its " +
      'own gives every node it reached that version back (or releases the policy when it had ' +
      'none); this follows that rollout until every node is back, printing its progress. A ' +
      'second rollback says which version runs: there is nothing newer to roll back to. Exit 1 ' +
      'then, for an unknown policy, or when the wait times out.',
    args: ['<policy>'],
    options: [REASON, ...FOLLOW],
    fleet: true,
    output: true,
    examples: [
      ['tramway rollback tcp-latency --reason "p99 regression"', 'and wait until nodes are back'],
      ['tramway rollback tcp-latency --no-wait', 'answer at once; follow with status --watch'],
    ],
    load: fleet(() => import('./commands/rollback.command.js'), 'runRollback'),
  },
  {
    name: 'policy',
    summary: 'the policies: list, get, describe, delete',
    examples: [['tramway policy list', 'every policy in force or being deleted']],
    subcommands: [
      {
        name: 'list',
        summary: 'the policies in force or being deleted, with their latest rollout',
        fleet: true,
        output: true,
        examples: [
          ['tramway policy list', ''],
          ['tramway policy list -o json', 'as JSON'],
        ],
        load: fleet(() => import('./commands/policy.command.js'), 'runPolicyList'),
      },
      {
        name: 'get',
        summary: 'the policy in force as a document that applies again (YAML; -o json)',
        args: ['<policy>'],
        fleet: true,
        output: true,
        examples: [
          ['tramway policy get tcp-latency > p.yaml', 'apply -f p.yaml then says "unchanged"'],
          ['tramway policy get tcp-latency -o json', 'as JSON'],
        ],
        load: fleet(() => import('./commands/policy.command.js'), 'runPolicyGet'),
      },
      {
        name: 'describe',
        summary: 'versions, the latest rollout and its state, nodes per state, recent changes',
        args: ['<policy>'],
        fleet: true,
        output: true,
        examples: [['tramway policy describe tcp-latency', '']],
        load: fleet(() => import('./commands/policy.command.js'), 'runPolicyDescribe'),
      },
      {
        name: 'delete',
        summary: 'delete a policy and wait until every node released it',
        description:
          'Asks first (on a terminal; --yes skips the question, and is needed without one). The ' +
          'policy is listed as deleting until every node holding it has released it, then no ' +
          'longer; the log keeps it, and applying the name again records the next version. Exit ' +
          '1 for an unknown policy, a refusal, or when the wait times out.',
        args: ['<policy>'],
        options: [
          { flags: '-y, --yes', description: 'do not ask for confirmation' },
          REASON,
          ...FOLLOW,
        ],
        fleet: true,
        output: true,
        examples: [
          ['tramway policy delete tcp-latency', 'asks, then waits until released'],
          ['tramway policy delete tcp-latency --yes --no-wait', 'in a script'],
        ],
        load: fleet(() => import('./commands/policy.command.js'), 'runPolicyDelete'),
      },
    ],
  },
  {
    name: 'resume',
    summary: 'resume a rollout held by its failure gate',
    args: ['<rollout>'],
    fleet: true,
    output: true,
    examples: [['tramway resume tcp-latency-v2-1a2b3c', '']],
    load: fleet(() => import('./commands/rollback.command.js'), 'runResume'),
  },
  {
    name: 'nodes',
    summary: 'the nodes: labels, profile, attach path, health',
    fleet: true,
    output: true,
    examples: [
      ['tramway nodes', ''],
      ['tramway nodes -o wide', 'with boot ids'],
      ['TRAMWAY_URL=http://coord:7070 tramway nodes -o json', 'another coordinator, as JSON'],
    ],
    load: fleet(() => import('./commands/nodes.command.js'), 'runNodes'),
  },
  {
    name: 'node',
    summary: 'one node: approve, reset, load/unload a module',
    examples: [['tramway node approve web-4', 'admit a pending node']],
    subcommands: [
      {
        name: 'approve',
        summary: 'admit a pending node (it then gets assignments and counts in rollouts)',
        args: ['<node>'],
        options: [REASON],
        fleet: true,
        output: true,
        examples: [['tramway node approve web-4 --reason "racked today"', '']],
        load: fleet(() => import('./commands/node-admin.command.js'), 'runNodeApprove'),
      },
      {
        name: 'reset',
        summary: 'take a node back with a new epoch (its next assignment wins)',
        args: ['<node>'],
        options: [REASON],
        fleet: true,
        output: true,
        examples: [['tramway node reset web-2 --reason "reimaged"', '']],
        load: fleet(() => import('./commands/node-admin.command.js'), 'runNodeReset'),
      },
      {
        name: 'module',
        summary:
          'load or (drain and) unload a module on a simulated node, and show what it changed',
        description:
          'Waits until the agent has reported the load (or unload) and its effect, then shows ' +
          'the functions attached (released) per policy, those refused and those still pending.',
        args: ['<action>', '<node>', '<module>'],
        options: [
          {
            flags: '--timeout-s <N>',
            description: 'wait at most N s (1-25, default 20) for the report; exit 1 after',
          },
          { flags: '--no-wait', description: "answer once the agent did it; don't wait" },
        ],
        fleet: true,
        output: true,
        examples: [
          ['tramway node module load web-2 nf_tables', 'waits, then shows what attached'],
          [
            'tramway node module unload web-2 nf_tables',
            'drain the links, unload, show what was released',
          ],
          ['tramway node module load web-2 nf_tables --no-wait', "the agent's answer only"],
        ],
        load: fleet(() => import('./commands/node-module.command.js'), 'runNodeModule'),
      },
    ],
  },
  {
    name: 'demo',
    summary: 'a coordinator and 3 simulated nodes, in-process',
    description:
      'The embedded one-process fleet (coordinator + the simulated nodes of the fleet file, ' +
      'SQLite log in --data-dir): applies the policy, prints the command to watch its rollout ' +
      'from another terminal, follows it, then serves the API until Ctrl-C (what `npm start` runs).',
    options: [
      { flags: '--until-converged', description: 'exit once converged (0) or timed out (1)' },
      { flags: '--timeout-s <N>', description: 'with --until-converged (default 60)' },
      {
        flags: '--pause-s <N>',
        description:
          "the pause between waves (default: the policy's, 10 s for the example; 0 with --until-converged)",
      },
      {
        flags: '--fleet <FILE>',
        description: 'the fleet file (default examples/fleet/fleet.yaml)',
      },
      { flags: '-f, --file <POLICY>', description: "the policy (default: the fleet file's)" },
      { flags: '--data-dir <DIR>', description: 'log, node state, admin token (default .tramway)' },
      { flags: '--port <N>', description: 'HTTP port (default 7070; 0 picks a free one)' },
      { flags: '--host <HOST>', description: 'address to listen on (default 127.0.0.1)' },
      { flags: '--allowed-hosts <NAMES>', description: 'comma-separated Host names to answer' },
      {
        flags: '--sqlite-synchronous <MODE>',
        description: 'SQLite durability (default normal; env TRAMWAY_SQLITE_SYNCHRONOUS)',
      },
    ],
    fleet: true,
    output: true,
    examples: [
      ['tramway demo', 'what `npm start` runs'],
      ['tramway demo --until-converged --port 0 -o json', 'one run, for scripts'],
    ],
    load: fleet(() => import('./commands/demo.command.js'), 'runDemo'),
  },
  {
    name: 'program',
    summary: 'program objects: push compiled BPF objects, list, inspect',
    description:
      'A policy names its program by the digest of a compiled BPF object (spec.program.object) ' +
      'and the program inside it (spec.program.name). push stores the object on the coordinator, ' +
      'content addressed (embedded: under the data dir; NATS: a JetStream Object Store bucket), ' +
      'and prints that digest; agents fetch it and check the digest before loading anything.',
    examples: [
      ['tramway program push examples/programs/objects/func_stats_multi.bpf.o', ''],
      ['tramway program list', ''],
    ],
    subcommands: [
      {
        name: 'push',
        summary: 'store a compiled BPF object; print its digest and programs (operator)',
        args: ['<file>'],
        fleet: true,
        output: true,
        examples: [
          [
            'tramway program push examples/programs/objects/func_stats_multi.bpf.o',
            'prints its sha256 digest and programs: stats_entry, stats_exit',
          ],
          ['tramway program push prog.bpf.o -o json', 'the digest and programs as JSON'],
        ],
        load: fleet(() => import('./commands/program.command.js'), 'runProgramPush'),
      },
      {
        name: 'list',
        summary: 'list the stored program objects: digest, size, programs',
        fleet: true,
        output: true,
        examples: [
          ['tramway program list', ''],
          ['tramway program list -o wide', 'full digests, licenses, when stored'],
        ],
        load: fleet(() => import('./commands/program.command.js'), 'runProgramList'),
      },
      {
        name: 'inspect',
        summary: "one stored object: its programs' sections and attach types, license, BTF",
        args: ['<digest>'],
        fleet: true,
        output: true,
        examples: [
          ['tramway program inspect sha256:afa3ada9...', ''],
          ['tramway program inspect sha256:afa3ada9... -o wide', 'with targets and sizes'],
        ],
        load: fleet(() => import('./commands/program.command.js'), 'runProgramInspect'),
      },
    ],
  },
  {
    name: 'token',
    summary: 'API tokens: create, list, revoke (admin)',
    examples: [['tramway token create --name ci --role operator', '']],
    subcommands: [
      {
        name: 'create',
        summary: 'issue an API token (printed once) for a person or a tool',
        options: [
          { flags: '--name <NAME>', description: 'who holds it: they act as token:NAME' },
          { flags: '--role <ROLE>', description: 'what it may do', choices: ROLES },
        ],
        fleet: true,
        output: true,
        examples: [['tramway token create --name ci --role operator', '']],
        load: fleet(() => import('./commands/token.command.js'), 'runTokenCreate'),
      },
      {
        name: 'list',
        summary: 'list API tokens: name, role, active or revoked',
        fleet: true,
        output: true,
        examples: [
          ['tramway token list', ''],
          ['tramway token list -o wide', 'with issue and revocation details'],
        ],
        load: fleet(() => import('./commands/token.command.js'), 'runTokenList'),
      },
      {
        name: 'revoke',
        summary: 'revoke an API token',
        args: ['<name>'],
        options: [REASON],
        fleet: true,
        output: true,
        examples: [['tramway token revoke ci --reason "leaked in a log"', '']],
        load: fleet(() => import('./commands/token.command.js'), 'runTokenRevoke'),
      },
    ],
  },
];

const security =
  (
    name:
      'runSecurityInit' | 'runSecurityAddNode' | 'runSecurityRemoveNode' | 'runSecurityIssueClient',
  ) =>
  async () =>
    (await import('./commands/security.command.js'))[name];
const SECURITY_DIR: OptionSpec = {
  flags: '--dir <DIR>',
  description: 'the security directory (default .tramway-security; env TRAMWAY_SECURITY_DIR)',
};

const SECURITY: CommandSpec = {
  name: 'security',
  summary: 'CA, certificates and NATS identities',
  description: 'See docs/security.md.',
  examples: [['tramway security init --nodes web-1,web-2 --host coord.example', '']],
  subcommands: [
    {
      name: 'init',
      summary: 'create the CA, certificates, NATS identities and nats-server.conf',
      options: [
        SECURITY_DIR,
        { flags: '--nodes <IDS>', description: 'comma-separated node ids' },
        { flags: '--auto-approve', description: 'admit these nodes without `node approve`' },
        {
          flags: '--host <NAME>',
          description: 'a name of the server certificate (repeatable, or comma-separated)',
          repeatable: true,
        },
        { flags: '--force', description: 'overwrite an existing directory' },
        { flags: '--nats-listen <HOST:PORT>', description: 'where nats-server listens' },
        { flags: '--nats-store <DIR>', description: "nats-server's JetStream store" },
        { flags: '--nats-monitor <HOST:PORT>', description: "nats-server's monitoring port" },
        { flags: '--mount <DIR>', description: 'where the directory is mounted in containers' },
      ],
      examples: [['tramway security init --nodes web-1,web-2 --host coord --host 10.0.0.5', '']],
      load: security('runSecurityInit'),
    },
    {
      name: 'add-node',
      summary: "add a node's NATS identity (--rotate: a new seed for a known node)",
      args: ['<node>'],
      options: [
        SECURITY_DIR,
        { flags: '--auto-approve', description: 'admit it without `node approve`' },
        { flags: '--rotate', description: 'a new seed for a node already known' },
      ],
      examples: [['tramway security add-node web-3', '']],
      load: security('runSecurityAddNode'),
    },
    {
      name: 'remove-node',
      summary: "revoke a node's NATS identity (its seed and registry entry)",
      args: ['<node>'],
      options: [SECURITY_DIR],
      examples: [['tramway security remove-node web-3', '']],
      load: security('runSecurityRemoveNode'),
    },
    {
      name: 'issue-client',
      summary: "issue a person's client certificate (mTLS on the HTTP API)",
      options: [
        SECURITY_DIR,
        { flags: '--name <NAME>', description: 'the person' },
        { flags: '--role <ROLE>', description: 'what they may do', choices: ROLES },
      ],
      examples: [['tramway security issue-client --name alice --role operator', '']],
      load: security('runSecurityIssueClient'),
    },
  ],
};

const COMPLETION: CommandSpec = {
  name: 'completion',
  summary: 'print a bash or zsh completion script',
  description: 'Prints a script that completes commands, subcommands, options and their values.',
  args: ['<shell>'],
  examples: [
    ['source <(tramway completion bash)', 'bash, this shell'],
    ['tramway completion bash > /etc/bash_completion.d/tramway', 'bash, every shell'],
    ['tramway completion zsh > "${fpath[1]}/_tramway"', 'zsh (then restart the shell)'],
  ],
  load: async () => (await import('./completion.js')).runCompletion,
};

/** Every `tramway` command. Add new commands here (and their `run` in commands/). */
export const COMMAND_TREE: readonly CommandSpec[] = [...FLEET, KERNEL, AUDIT, SECURITY, COMPLETION];
