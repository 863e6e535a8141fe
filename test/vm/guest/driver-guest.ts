/**
 * Runs inside the VM guest (bundled by ../guest-bundle.ts): the agent's `bpf` KernelDriver
 * created on the booted kernel, and what it found out by trying, printed as one
 * `@@TRAMWAY {json}` line: the attach path its probe chose, every probe step with the real
 * errno, and the trampoline budget it measured.
 */
import { createBpfKernelDriver } from '../../../services/agent/src/kernel-driver/bpf/bpf-kernel.driver.js';

const emit = (value: unknown): void => {
  process.stdout.write(`@@TRAMWAY ${JSON.stringify(value)}\n`);
};

const main = async (): Promise<void> => {
  const created = await createBpfKernelDriver({ nodeId: 'vm-guest' });
  if (!created.ok) {
    emit({ kind: 'driver', ok: false, error: created.error });
    process.exitCode = 1;
    return;
  }
  const driver = created.value;
  const description = (await driver.describe()) as unknown as Record<string, unknown>;
  emit({
    kind: 'driver',
    ok: true,
    path: driver.probe.path,
    steps: driver.probe.steps.map((s) => ({
      path: s.path,
      step: s.step,
      ok: s.ok,
      errno: s.ok ? null : s.errno,
    })),
    trampolineBudget: description.trampolineBudget ?? null,
  });
};

await main();
