/**
 * The answer of `POST /v1/nodes/{node}/modules/{module}:load|unload` asked with a wait: what the
 * module load or unload did on the node, from the log's view of it before the request and once
 * the agent's facts are folded. Made by the coordinator (commands/module-effect.ts), shown by
 * `tramway node module load|unload`.
 */
export interface FunctionsOfPolicy {
  /** null: a link no policy owns */
  readonly policy: string | null;
  readonly functions: readonly string[];
}

export interface ModuleEffect {
  readonly module: string;
  readonly action: 'load' | 'unload';
  /** whether the log shows the module loaded after the request */
  readonly moduleLoaded: boolean;
  /** connections the node holds now and did not before, per policy */
  readonly attached: readonly FunctionsOfPolicy[];
  /** connections the node held before and no longer does, per policy */
  readonly released: readonly FunctionsOfPolicy[];
  /** functions refused at this pass that were not before (errno and reason of the kernel) */
  readonly failed: readonly {
    readonly policy: string;
    readonly function: string;
    readonly errno: number;
    readonly reason: string;
  }[];
  /** functions still waiting for a module after the pass */
  readonly pending: readonly {
    readonly policy: string;
    readonly function: string;
    readonly module: string;
  }[];
}
