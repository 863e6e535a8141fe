import { defineConfig } from 'vitest/config';

const conditions = ['@tramway/source'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    projects: [
      {
        extends: true,
        // property tests run hundreds of sequences: give them room on a loaded 2-core machine
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.int.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        // the lint fences: ESLint with type information on fixtures (test/lint/, test/fixtures/lint/)
        test: {
          name: 'lint',
          include: ['test/lint/**/*.lint.test.ts'],
          testTimeout: 120_000,
        },
      },
      {
        extends: true,
        // attacks replayed against real processes over a real nats-server with auth and TLS
        test: {
          name: 'security',
          include: ['test/security/**/*.security.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        // stock Debian kernels booted under qemu (TCG), one boot per kernel (test/vm/): skipped
        // with a printed reason when qemu, busybox-static, cpio or zstd is missing; the first
        // run downloads the kernels into ~/.cache/tramway-kernels
        test: {
          name: 'vm',
          include: ['test/vm/**/*.vm.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
