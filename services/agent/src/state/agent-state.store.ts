/**
 * What the agent keeps across its own restarts (docs/fleet-protocol.md; ARCHITECTURE.md, "links
 * are pinned so that an agent restart keeps them"): the boot id it last saw, its latest
 * assignment and observed generation, which pinned link serves which policy, the plan it
 * reconciles each policy to, and (sim nodes) the simulated kernel's op log, which stands in for
 * the kernel outliving the agent process. A new boot id makes the links and the op log void (the
 * bpfman#1563 lesson: never trust local state across a reboot); plans are checked against the
 * new kernel before they are trusted again. Durability (README "What survives a crash"): whole
 * files are written durably (temp file, fsync, rename, directory fsync), fact appends are
 * fdatasynced before they are published (with the op log appended before them), and a torn
 * last line of a log is cut with a warning.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@tramway/shared/infra';
import {
  appendFileDurably,
  readJsonLines,
  removeStaleTempFiles,
  silentLogger,
  syncFile,
  writeFileDurably,
} from '@tramway/shared/infra';
import type { KernelOp } from '@tramway/shared/kernel';
import type { NewEvent } from '@tramway/shared/lib';
import type { AgentAssignment, HeldLink, LinkIntent } from '../reconcile/agent-policy.js';
import type { HeldPlan } from '../reconcile/agent-plans.js';
import { decodeKernelOp, encodeKernelOp } from '../kernel/kernel-op.codec.js';
import type { OutboxLine, OutboxRead } from '../facts/outbox-lines.js';
import {
  EMPTY_OUTBOX,
  compactOutbox,
  decodeOutboxLine,
  encodeOutboxLine,
  foldOutbox,
  trimmable,
} from '../facts/outbox-lines.js';
import type { StateJournalEntry } from './state-journal.js';
import { applyEntry, diffState } from './state-journal.js';

export interface PersistedAgentState {
  readonly bootId: string;
  readonly assignment: AgentAssignment | null;
  readonly observedGeneration: number;
  readonly links: readonly HeldLink[];
  /** the plan held for each assigned policy version (absent from state saved before plans were kept) */
  readonly plans?: readonly HeldPlan[];
  /** links about to be created (saved before `link_create`, cleared after the pass) */
  readonly intents?: readonly LinkIntent[];
}

export interface AgentStateStore {
  load(): PersistedAgentState | undefined;
  save(state: PersistedAgentState): void;
  /** the op log of the simulated kernel of `bootId` (empty for another boot) */
  readOps(bootId: string): readonly KernelOp[];
  /** starts a new op log and fact outbox for `bootId`, dropping the previous boot's */
  resetBoot(bootId: string): void;
  appendOp(op: KernelOp): void;
  /**
   * The fact outbox of `bootId` (empty for another boot): the facts kept whole as first
   * published, which of them the coordinator acknowledged, and the ids of those trimmed.
   */
  readOutbox(bootId: string): OutboxRead;
  /** new facts, durably, before they are published */
  appendFacts(events: readonly NewEvent[]): void;
  /** facts the coordinator's log holds: no longer resent; their bodies are trimmed now and then */
  ackFacts(ids: readonly string[]): void;
  /** the sim node's boot id, created on first use (a "reboot" replaces it) */
  simBootId(create: () => string): string;
}

/** Everything in memory: an agent restart in the same process (tests, embedded mode) keeps it. */
export const createMemoryStateStore = (): AgentStateStore => {
  let state: PersistedAgentState | undefined;
  let ops: { bootId: string; ops: KernelOp[] } = { bootId: '', ops: [] };
  let facts: { bootId: string; lines: OutboxLine[] } = { bootId: '', lines: [] };
  let acks = 0;
  let bootId: string | undefined;
  return {
    load: () => state,
    save: (s) => {
      state = s;
    },
    readOps: (b) => (ops.bootId === b ? [...ops.ops] : []),
    resetBoot: (b) => {
      ops = { bootId: b, ops: [] };
      facts = { bootId: b, lines: [] };
    },
    appendOp: (op) => {
      ops.ops.push(op);
    },
    readOutbox: (b) => (facts.bootId === b ? foldOutbox(facts.lines) : EMPTY_OUTBOX),
    appendFacts: (events) => {
      facts.lines.push(...events.map((event) => ({ event })));
    },
    ackFacts: (ids) => {
      if (ids.length === 0) return;
      facts.lines.push({ acked: [...ids] });
      acks += ids.length;
      if (acks < OUTBOX_TRIM_AFTER) return;
      const read = foldOutbox(facts.lines);
      acks = trimmable(read);
      if (!shouldCompact(read)) return;
      facts.lines = compactOutbox(read);
      acks = 0;
    },
    simBootId: (create) => (bootId ??= create()),
  };
};

const STATE_FILE = 'agent-state.json';
const OPS_FILE = 'sim-kernel.ops.jsonl';
const BOOT_FILE = 'sim-boot-id';
const FACTS_FILE = 'facts-outbox.jsonl';
const JOURNAL_FILE = 'agent-state.journal.jsonl';
/** acknowledged facts kept whole after which the outbox is compacted (and more than half of it) */
export const OUTBOX_TRIM_AFTER = 256;
const shouldCompact = (read: OutboxRead): boolean => {
  const done = trimmable(read);
  return done >= OUTBOX_TRIM_AFTER && done * 2 >= read.events.length;
};
/** journal entries after which a save rewrites the snapshot instead */
export const STATE_JOURNAL_LIMIT = 256;

/** Corrupt state is not guessed at: it names the file. */
export class AgentStateCorruptError extends Error {
  override readonly name = 'AgentStateCorruptError';
  readonly code = 'AgentStateCorrupt';
  readonly retryable = false;
  constructor(file: string, reason: string, cause?: unknown) {
    super(
      `agent state ${file} is unreadable: ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/**
 * Files under `dir`: `agent-state.json` (the snapshot) and `agent-state.journal.jsonl` (the
 * changes saved since, state-journal.ts), `sim-kernel.ops.jsonl` and `facts-outbox.jsonl` (first
 * line: the boot id), `sim-boot-id`. Temp files a crashed write left are removed on open.
 */
export const createFileStateStore = (dir: string, log: Logger = silentLogger): AgentStateStore => {
  mkdirSync(dir, { recursive: true });
  const stale = removeStaleTempFiles(dir);
  if (stale.length > 0)
    log.warn('removed temp files of an interrupted write', { dir, files: stale });
  const stateFile = join(dir, STATE_FILE);
  const opsFile = join(dir, OPS_FILE);
  const bootFile = join(dir, BOOT_FILE);
  const factsFile = join(dir, FACTS_FILE);
  const journalFile = join(dir, JOURNAL_FILE);
  /** ops appended since the op log was last flushed to disk */
  let opsPending = false;
  const flushOps = (): void => {
    if (!opsPending) return;
    syncFile(opsFile);
    opsPending = false;
  };
  /** the boot of the outbox file (known once read or reset) and the acks since it was compacted */
  let outboxBoot: string | undefined;
  let acksSinceCompaction = 0;
  /** the state as last saved or loaded, the journal's last entry number and entry count */
  let last: PersistedAgentState | undefined;
  let seq = 0;
  let journaled = 0;
  /** the snapshot rewritten durably with `state`, then the journal emptied */
  const compact = (state: PersistedAgentState): void => {
    writeFileDurably(stateFile, `${JSON.stringify({ ...state, journalSeq: seq }, null, 1)}\n`);
    writeFileDurably(journalFile, '');
    journaled = 0;
  };
  /**
   * The lines of a jsonl file. A torn last line is cut with a warning; at a corrupt line
   * before the last, the lines before it are kept: the file is moved aside to `<file>.corrupt`
   * and the good part written back, so that later appends stay readable.
   */
  const readTolerant = <T>(file: string, decode: (line: string) => T): T[] => {
    const read = readJsonLines(file, decode);
    if (read.tornTailAt !== undefined)
      log.warn('cut a torn last line (an interrupted append)', { file, offset: read.tornTailAt });
    if (read.corrupt !== undefined) {
      const { line, offset, reason } = read.corrupt;
      const aside = `${file}.corrupt`;
      log.error(`${file} line ${line} is corrupt: kept the ${line - 1} lines before it`, {
        file,
        line,
        offset,
        reason,
        movedTo: aside,
      });
      const good = readFileSync(file).subarray(0, offset);
      renameSync(file, aside);
      writeFileDurably(file, good);
    }
    return [...read.values];
  };
  /** A log whose first line names its boot: its entries for `bootId`, none for another boot. */
  const readLog = <T>(file: string, bootId: string, decode: (line: string) => T): T[] => {
    let header: string | undefined;
    const values = readTolerant(file, (line) => {
      if (header === undefined) {
        header = line;
        JSON.parse(line);
        return undefined;
      }
      return decode(line);
    });
    if (header !== JSON.stringify({ bootId })) return [];
    return values.slice(1) as T[];
  };
  return {
    load: () => {
      if (!existsSync(stateFile)) return undefined;
      let snapshot: PersistedAgentState & { readonly journalSeq?: number };
      try {
        snapshot = JSON.parse(readFileSync(stateFile, 'utf8')) as typeof snapshot;
        if (typeof snapshot.bootId !== 'string' || !Array.isArray(snapshot.links))
          throw new Error('missing bootId or links');
      } catch (error) {
        throw new AgentStateCorruptError(
          stateFile,
          error instanceof Error ? error.message : String(error),
          error,
        );
      }
      const { journalSeq = 0, ...doc } = snapshot;
      let state: PersistedAgentState = doc;
      const entries = readTolerant(
        journalFile,
        (line) => JSON.parse(line) as StateJournalEntry,
      ).filter((e) => e.seq > journalSeq);
      for (const e of entries) state = applyEntry(state, e);
      seq = entries.at(-1)?.seq ?? journalSeq;
      // the replayed state becomes the snapshot; the journal starts empty
      if (entries.length > 0) compact(state);
      last = state;
      return state;
    },
    save: (s) => {
      flushOps();
      const entry = last === undefined ? undefined : diffState(last, s, seq + 1);
      if (last !== undefined && entry === undefined) return;
      if (entry === undefined || entry.bootId !== undefined || journaled >= STATE_JOURNAL_LIMIT)
        compact(s);
      else {
        appendFileDurably(journalFile, `${JSON.stringify(entry)}\n`);
        seq = entry.seq;
        journaled += 1;
      }
      last = s;
    },
    readOps: (bootId) => readLog(opsFile, bootId, decodeKernelOp),
    resetBoot: (bootId) => {
      writeFileDurably(opsFile, `${JSON.stringify({ bootId })}\n`);
      writeFileDurably(factsFile, `${JSON.stringify({ bootId })}\n`);
      opsPending = false;
      outboxBoot = bootId;
      acksSinceCompaction = 0;
    },
    // the page cache holds it until the next facts or save flush it (one fsync per batch)
    appendOp: (op) => {
      appendFileSync(opsFile, `${encodeKernelOp(op)}\n`);
      opsPending = true;
    },
    readOutbox: (bootId) => {
      const read = foldOutbox(readLog(factsFile, bootId, decodeOutboxLine));
      outboxBoot = bootId;
      acksSinceCompaction = trimmable(read);
      return read;
    },
    // on disk, with the ops that led to them, before the outbox publishes them
    appendFacts: (events) => {
      if (events.length === 0) return;
      flushOps();
      appendFileDurably(
        factsFile,
        events.map((event) => `${encodeOutboxLine({ event })}\n`).join(''),
      );
    },
    // an ack lost in a crash costs a resend (the log holds each id once), never a fact
    ackFacts: (ids) => {
      if (ids.length === 0) return;
      appendFileDurably(factsFile, `${encodeOutboxLine({ acked: ids })}\n`);
      acksSinceCompaction += ids.length;
      if (acksSinceCompaction < OUTBOX_TRIM_AFTER || outboxBoot === undefined) return;
      const read = foldOutbox(readLog(factsFile, outboxBoot, decodeOutboxLine));
      acksSinceCompaction = trimmable(read);
      if (!shouldCompact(read)) return;
      const lines = compactOutbox(read).map((l) => `${encodeOutboxLine(l)}\n`);
      writeFileDurably(factsFile, `${JSON.stringify({ bootId: outboxBoot })}\n${lines.join('')}`);
      acksSinceCompaction = 0;
    },
    simBootId: (create) => {
      if (existsSync(bootFile)) {
        const text = readFileSync(bootFile, 'utf8').trim();
        if (text !== '') return text;
      }
      const id = create();
      writeFileDurably(bootFile, `${id}\n`);
      return id;
    },
  };
};

/** A simulated reboot of a sim node whose state lives in `dir`: the boot id goes, so does the kernel. */
export const rebootSimNode = (dir: string): void => {
  rmSync(join(dir, BOOT_FILE), { force: true });
  rmSync(join(dir, OPS_FILE), { force: true });
  rmSync(join(dir, FACTS_FILE), { force: true });
};
