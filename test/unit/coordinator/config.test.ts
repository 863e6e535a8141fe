import { describe, expect, it } from 'vitest';
import {
  coordinatorNatsCredentials,
  loadConfig,
} from '../../../services/coordinator/src/config.js';

describe('loadConfig', () => {
  it('applies defaults and coerces numbers', () => {
    const config = loadConfig({ HTTP_PORT: '9000' });
    expect(config).toMatchObject({ STORE: 'sqlite', HTTP_PORT: 9000, STALE_AFTER_MS: 15_000 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('serves on 7070 by default, the CLI default URL, and logs as the terminal suits', () => {
    expect(loadConfig({})).toMatchObject({
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: 7070,
      LOG_LEVEL: 'info',
      TRAMWAY_LOG_FORMAT: 'auto',
    });
    expect(loadConfig({ TRAMWAY_LOG_FORMAT: 'json' }).TRAMWAY_LOG_FORMAT).toBe('json');
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL="loud": /);
  });

  it('lists every bad key', () => {
    expect(() => loadConfig({ STORE: 'jetstream', HTTP_PORT: 'x', STALE_AFTER_MS: '-1' })).toThrow(
      /HTTP_PORT="x": .*; STALE_AFTER_MS="-1": .*; NATS_URL: required when STORE=jetstream/,
    );
  });

  it('reads the API access settings: data dir, allowed hosts, rates, TLS files in pairs', () => {
    expect(loadConfig({})).toMatchObject({
      DATA_DIR: '.tramway',
      HTTP_ALLOWED_HOSTS: [],
      HTTP_RATE_PER_SEC: 50,
      HTTP_RATE_BURST: 100,
      HTTP_AUTH_FAILURES_PER_SEC: 1,
      HTTP_AUTH_FAILURES_BURST: 20,
    });
    expect(
      loadConfig({ HTTP_ALLOWED_HOSTS: 'tramway.example, ops.example:8443,[::1]:7070' })
        .HTTP_ALLOWED_HOSTS,
    ).toEqual(['tramway.example', 'ops.example:8443', '[::1]:7070']);
    expect(() => loadConfig({ HTTP_ALLOWED_HOSTS: 'http://x/' })).toThrow(/HTTP_ALLOWED_HOSTS/);
    expect(() => loadConfig({ TRAMWAY_API_TLS_CERT: 'c.pem' })).toThrow(
      /TRAMWAY_API_TLS_CERT, TRAMWAY_API_TLS_KEY: give both or neither/,
    );
    expect(() => loadConfig({ TRAMWAY_API_CLIENT_CA: 'ca.pem' })).toThrow(
      /TRAMWAY_API_CLIENT_CA: needs/,
    );
  });

  it('takes SQLITE_SYNCHRONOUS normal or full (any case), NORMAL by default, and refuses others', () => {
    expect(loadConfig({}).SQLITE_SYNCHRONOUS).toBe('NORMAL');
    expect(loadConfig({ SQLITE_SYNCHRONOUS: 'full' }).SQLITE_SYNCHRONOUS).toBe('FULL');
    expect(loadConfig({ SQLITE_SYNCHRONOUS: 'NORMAL' }).SQLITE_SYNCHRONOUS).toBe('NORMAL');
    expect(() => loadConfig({ SQLITE_SYNCHRONOUS: 'off' })).toThrow(
      /SQLITE_SYNCHRONOUS="off": 'normal' or 'full'/,
    );
  });

  it('takes its NATS identity from the security directory, or from the files named', () => {
    expect(coordinatorNatsCredentials(loadConfig({}))).toBeUndefined();
    expect(
      coordinatorNatsCredentials(loadConfig({ TRAMWAY_SECURITY_DIR: '/etc/tramway' })),
    ).toEqual({ nkeySeedFile: '/etc/tramway/coordinator.nk', caFile: '/etc/tramway/ca.crt' });
    expect(
      coordinatorNatsCredentials(
        loadConfig({ TRAMWAY_SECURITY_DIR: '/etc/tramway', TRAMWAY_NATS_CA_FILE: '/run/ca.pem' }),
      ),
    ).toEqual({ nkeySeedFile: '/etc/tramway/coordinator.nk', caFile: '/run/ca.pem' });
    expect(coordinatorNatsCredentials(loadConfig({ TRAMWAY_NATS_NKEY_FILE: '/run/c.nk' }))).toEqual(
      { nkeySeedFile: '/run/c.nk' },
    );
  });
});
