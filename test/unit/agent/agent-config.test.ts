import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SIM_KERNEL,
  InvalidConfigError,
  loadConfig,
} from '../../../services/agent/src/config.js';

describe('loadConfig', () => {
  it('parses labels, numbers and defaults once into a frozen object', () => {
    const sut = loadConfig({
      NODE_ID: 'node-1',
      NODE_LABELS: 'role=web, zone=eu-1',
      HEARTBEAT_MS: '250',
    });
    expect(sut).toEqual({
      nodeId: 'node-1',
      labels: { role: 'web', zone: 'eu-1' },
      natsUrl: 'nats://127.0.0.1:4222',
      natsCredentials: { inboxPrefix: '_INBOX_node-1' },
      securityDir: undefined,
      stateDir: undefined,
      heartbeatMs: 250,
      kernel: 'sim',
      bpffs: undefined,
      simKernel: DEFAULT_SIM_KERNEL,
      simMultiLink: undefined,
      hostRoot: undefined,
      logLevel: 'info',
      logFormat: 'auto',
      assignmentVerifyKeyFile: undefined,
      insecureUnsignedAssignments: false,
    });
    expect(Object.isFrozen(sut)).toBe(true);
  });

  it('derives its NATS identity from the security directory, or from the files named', () => {
    expect(
      loadConfig({ NODE_ID: 'web-1', TRAMWAY_SECURITY_DIR: '/etc/tramway' }).natsCredentials,
    ).toEqual({
      nkeySeedFile: '/etc/tramway/nodes/web-1.nk',
      caFile: '/etc/tramway/ca.crt',
      inboxPrefix: '_INBOX_web-1',
    });
    expect(
      loadConfig({
        NODE_ID: 'web-1',
        TRAMWAY_SECURITY_DIR: '/etc/tramway',
        TRAMWAY_NATS_NKEY_FILE: '/run/web-1.nk',
        TRAMWAY_NATS_CA_FILE: '/run/ca.pem',
      }).natsCredentials,
    ).toEqual({
      nkeySeedFile: '/run/web-1.nk',
      caFile: '/run/ca.pem',
      inboxPrefix: '_INBOX_web-1',
    });
  });

  it('picks the kernel driver: --driver, then KERNEL_DRIVER, then KERNEL; BPFFS must be absolute', () => {
    expect(loadConfig({ NODE_ID: 'n', KERNEL: 'bpf' }).kernel).toBe('bpf');
    expect(loadConfig({ NODE_ID: 'n', KERNEL: 'host', KERNEL_DRIVER: 'bpf' }).kernel).toBe('bpf');
    expect(loadConfig({ NODE_ID: 'n', KERNEL_DRIVER: 'bpf' }, ['--driver', 'sim']).kernel).toBe(
      'sim',
    );
    expect(loadConfig({ NODE_ID: 'n', BPFFS: '/mnt/bpf' }).bpffs).toBe('/mnt/bpf');
    expect(() => loadConfig({ NODE_ID: 'n' }, ['--driver', 'ebpf'])).toThrow(
      /KERNEL_DRIVER="ebpf"/,
    );
    expect(() => loadConfig({ NODE_ID: 'n', BPFFS: 'bpf' })).toThrow(
      /BPFFS="bpf": an absolute path/,
    );
  });

  it('reads SIM_MULTI_LINK as a boolean and refuses anything but true/false', () => {
    expect(loadConfig({ NODE_ID: 'n', SIM_MULTI_LINK: 'false' }).simMultiLink).toBe(false);
    expect(loadConfig({ NODE_ID: 'n', SIM_MULTI_LINK: 'true' }).simMultiLink).toBe(true);
    expect(() => loadConfig({ NODE_ID: 'n', SIM_MULTI_LINK: 'no' })).toThrow(
      /SIM_MULTI_LINK="no": 'true' or 'false'/,
    );
  });

  it('reads LOG_LEVEL and TRAMWAY_LOG_FORMAT (auto by default), refusing other values', () => {
    expect(loadConfig({ NODE_ID: 'n' })).toMatchObject({ logLevel: 'info', logFormat: 'auto' });
    expect(loadConfig({ NODE_ID: 'n', TRAMWAY_LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ NODE_ID: 'n', LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL="loud": /);
    expect(() => loadConfig({ NODE_ID: 'n', TRAMWAY_LOG_FORMAT: 'xml' })).toThrow(
      /TRAMWAY_LOG_FORMAT="xml": /,
    );
  });

  it('lists every bad key in one error', () => {
    const error = (() => {
      try {
        loadConfig({
          NODE_ID: 'a b',
          NODE_LABELS: 'role',
          HEARTBEAT_MS: 'often',
          KERNEL: 'real',
          NATS_URL: 'http://x',
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidConfigError);
    // each problem names the key and the value given
    expect((error as InvalidConfigError).problems).toContain(
      'HEARTBEAT_MS="often": Invalid input: expected number, received NaN',
    );
    expect((error as InvalidConfigError).problems.map((p) => p.split(/[=:]/)[0])).toEqual([
      'NODE_ID',
      'NODE_LABELS',
      'NATS_URL',
      'HEARTBEAT_MS',
      'KERNEL',
    ]);
  });

  it('finds the verify key: TRAMWAY_ASSIGNMENT_VERIFY_KEY, else in TRAMWAY_SECURITY_DIR, else none', () => {
    expect(loadConfig({ NODE_ID: 'n' }).assignmentVerifyKeyFile).toBeUndefined();
    expect(
      loadConfig({ NODE_ID: 'n', TRAMWAY_SECURITY_DIR: '/etc/tramway' }).assignmentVerifyKeyFile,
    ).toBe('/etc/tramway/assignment-signing.pub');
    expect(
      loadConfig({
        NODE_ID: 'n',
        TRAMWAY_SECURITY_DIR: '/etc/tramway',
        TRAMWAY_ASSIGNMENT_VERIFY_KEY: '/keys/coord.pub',
      }).assignmentVerifyKeyFile,
    ).toBe('/keys/coord.pub');
  });

  it('runs without a verify key only when told so (flag or env), off by default', () => {
    expect(loadConfig({ NODE_ID: 'n' }).insecureUnsignedAssignments).toBe(false);
    expect(
      loadConfig({ NODE_ID: 'n' }, ['--insecure-unsigned-assignments']).insecureUnsignedAssignments,
    ).toBe(true);
    expect(
      loadConfig({ NODE_ID: 'n', TRAMWAY_INSECURE_UNSIGNED_ASSIGNMENTS: 'true' })
        .insecureUnsignedAssignments,
    ).toBe(true);
    expect(() =>
      loadConfig({ NODE_ID: 'n', TRAMWAY_INSECURE_UNSIGNED_ASSIGNMENTS: 'yes' }),
    ).toThrow(/TRAMWAY_INSECURE_UNSIGNED_ASSIGNMENTS="yes": 'true' or 'false'/);
  });

  it('refuses __proto__ as a node id with a clear error (the log refuses it as a name)', () => {
    expect(() => loadConfig({ NODE_ID: '__proto__' })).toThrow(
      /NODE_ID="__proto__": __proto__ is not a node id/,
    );
    expect(loadConfig({ NODE_ID: 'constructor' }).nodeId).toBe('constructor');
  });

  it('serves metrics only when asked: METRICS_PORT on loopback, TRAMWAY_METRICS_LISTEN anywhere', () => {
    expect(loadConfig({ NODE_ID: 'n' }).metricsListen).toBeUndefined();
    expect(loadConfig({ NODE_ID: 'n', METRICS_PORT: '9464' }).metricsListen).toEqual({
      host: '127.0.0.1',
      port: 9464,
    });
    expect(
      loadConfig({ NODE_ID: 'n', TRAMWAY_METRICS_LISTEN: '0.0.0.0:9464' }).metricsListen,
    ).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(loadConfig({ NODE_ID: 'n', TRAMWAY_METRICS_LISTEN: '[::1]:0' }).metricsListen).toEqual({
      host: '::1',
      port: 0,
    });
  });

  it('names a bad metrics address, port, or both keys set', () => {
    const problems = (env: Record<string, string>): readonly string[] => {
      try {
        loadConfig({ NODE_ID: 'n', ...env });
      } catch (error) {
        if (error instanceof InvalidConfigError) return error.problems;
        throw error;
      }
      return [];
    };
    expect(problems({ METRICS_PORT: '70000' })).toEqual([
      expect.stringMatching(/^METRICS_PORT.*: a port from 0 \(any free port\) to 65535$/),
    ]);
    expect(problems({ METRICS_PORT: 'http' })[0]).toMatch(/^METRICS_PORT.*: a port number$/);
    expect(problems({ TRAMWAY_METRICS_LISTEN: '9464' })).toEqual([
      expect.stringMatching(
        /^TRAMWAY_METRICS_LISTEN.*: '9464' is not host:port \(e\.g\. 127\.0\.0\.1:9464, \[::1\]:9464, 0\.0\.0\.0:9464\)$/,
      ),
    ]);
    expect(problems({ TRAMWAY_METRICS_LISTEN: 'localhost:99999' })).toHaveLength(1);
    expect(problems({ METRICS_PORT: '1', TRAMWAY_METRICS_LISTEN: '127.0.0.1:2' })).toEqual([
      'METRICS_PORT: set either TRAMWAY_METRICS_LISTEN (host:port) or METRICS_PORT (port on 127.0.0.1), not both',
    ]);
  });
});
