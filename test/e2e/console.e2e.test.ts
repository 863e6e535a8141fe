/**
 * The console in a real browser (issue 13, "Must show"): Debian's Chromium driven by
 * playwright-core against the embedded fleet (the coordinator with its HTTP API and simulated
 * agents in this process, a SQLite log in a temp dir), signed in with the fleet's admin token
 * through the sign-in link `npm start` prints. The page updates from the live event stream only:
 * no test reloads it. Each view is checked with axe-core (no serious or critical violation) and
 * photographed into .tmp/screenshots (TRAMWAY_DOCS_SCREENSHOTS=1 also copies them to
 * docs/console/). Skipped, with the reason printed, when Chromium is not installed.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelSpec } from '@tramway/shared/kernel';
import { DEFAULT_CONSOLE_DIR } from '../../services/coordinator/src/http/console-static.js';
import { consoleLink } from '../../services/cli/src/commands/demo.command.js';
import type { EmbeddedFleet, EmbeddedNodeSpec } from '../../services/embedded/src/index.js';
import {
  DEFAULT_FLEET_FILE,
  loadFleetFile,
  startEmbeddedFleet,
} from '../../services/embedded/src/index.js';
import { chromiumMissing, launchChromium, seriousViolations } from '../support/browser.js';
import type { TempDir } from '../support/temp-dir.js';
import { makeTempDir } from '../support/temp-dir.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SHOTS = join(ROOT, '.tmp', 'screenshots');
const DOCS = join(ROOT, 'docs', 'console');

const missing = chromiumMissing();
if (missing !== undefined) console.warn(`console.e2e: skipped: ${missing}`);

const fn = (name: string, denyListed = false) => ({
  name,
  ret: 'int',
  params: ['struct sock *', 'struct msghdr *', 'size_t'],
  ...(denyListed ? { denyListed: true } : {}),
});
/** A node on which no tracing program may attach (every function deny-listed): it fails. */
const gateKernel = (denied: boolean): KernelSpec => ({
  profile: 'v24',
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: ['tcp_sendmsg', 'tcp_recvmsg'].map((n) => fn(n, denied)),
    },
  ],
});
const gateNode = (id: string, denied: boolean): EmbeddedNodeSpec => ({
  id,
  labels: { role: 'gate' },
  kernel: gateKernel(denied),
  multiLink: true,
  kernelFile: `${id} (test)`,
});

/** The demo's policy narrowed to the web nodes (role=web): three waves. */
const WEB_POLICY = `apiVersion: tramway.dev/v1alpha1
kind: TracingPolicy
metadata: { name: web-latency }
spec:
  program: { name: web_lat, attach: fentry }
  nodeSelector: { matchLabels: { role: web } }
  targets:
    - { pattern: 'tcp_sendmsg', cookie: 1 }
    - { pattern: 'tcp_v[46]_connect', cookie: 3 }
    - { pattern: 'nf_tables:nft_do_chain*', cookie: 4 }
  strategy: auto
  rollout: { waves: [1, '50%', '100%'], maxFailureRatio: 0.34, pauseSeconds: 0 }
`;

/** On the gate nodes: the first wave's only node fails, so the gate (no failure) holds it. */
const GATE_POLICY = `apiVersion: tramway.dev/v1alpha1
kind: TracingPolicy
metadata: { name: gated }
spec:
  program: { name: gated, attach: fentry }
  nodeSelector: { matchLabels: { role: gate } }
  targets:
    - { pattern: 'tcp_sendmsg', cookie: 1 }
  strategy: auto
  rollout: { waves: [1, '100%'], maxFailureRatio: 0, pauseSeconds: 0 }
`;

let dir: TempDir;
let fleet: EmbeddedFleet;
let browser: Browser;
let page: Page;
const cspViolations: string[] = [];
const pageErrors: string[] = [];

const api = async (method: string, path: string, body?: string): Promise<unknown> => {
  const res = await fetch(`${fleet.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${fleet.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/yaml' }),
    },
    ...(body === undefined ? {} : { body }),
  });
  const json = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
};

/** Screenshot of the page as it is, as a test artifact (and for docs/ when asked). */
const shoot = async (name: string): Promise<void> => {
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env['TRAMWAY_DOCS_SCREENSHOTS'] === '1') {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(file, join(DOCS, `${name}.png`));
  }
};

const accessible = async (view: string): Promise<void> => {
  const violations = await seriousViolations(page);
  expect(violations, `${view}: serious or critical axe violations`).toEqual([]);
};

const go = async (hash: string): Promise<void> => {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
};

const cell = (node: string, policy: string) =>
  page.locator(`#fleet-grid [data-node="${node}"][data-policy="${policy}"]`);

describe.skipIf(missing !== undefined)('the console in Chromium', () => {
  beforeAll(async () => {
    if (!existsSync(join(DEFAULT_CONSOLE_DIR, 'index.html')))
      execFileSync('npm', ['run', 'build:console'], { cwd: ROOT, stdio: 'inherit' });
    mkdirSync(SHOTS, { recursive: true });
    dir = makeTempDir('tramway-console-');
    const demo = loadFleetFile(DEFAULT_FLEET_FILE);
    if (!demo.ok) throw new Error(demo.error.join('\n'));
    fleet = await startEmbeddedFleet({
      dataDir: dir.file('fleet'),
      port: 0,
      nodes: [...demo.value.nodes, gateNode('gate-1', true), gateNode('gate-2', false)],
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/.test(m.text()))
        cspViolations.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // the link `npm start` prints: the token rides in the fragment, never in a request
    await page.goto(consoleLink(fleet.url, fleet.adminToken));
    await page.locator('#live-status', { hasText: 'live' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await fleet?.stop();
    dir?.remove();
  });

  it('signs in from the link and takes the token out of the address bar', async () => {
    expect(page.url()).toMatch(/\/ui\/#\/fleet$/);
    await expect(page.locator('header .who').textContent()).resolves.toBe('token:admin (admin)');
    await page.locator('#fleet-grid tbody tr').first().waitFor();
    expect(await page.locator('#fleet-grid tbody tr').count()).toBe(5);
  });

  it('applies a policy and watches its waves complete (Rollouts)', async () => {
    await go('#/rollouts');
    await page.getByText('No rollout yet').waitFor();
    await api('POST', '/v1/policies', WEB_POLICY);
    const rollout = page.locator('[data-rollout="web-latency-v1"]');
    await rollout.locator('h2 [data-status="completed"]').waitFor({ timeout: 30_000 });
    const waves = rollout.locator('li.wave');
    expect(await waves.count()).toBe(3);
    for (let i = 0; i < 3; i++)
      expect(await waves.nth(i).getAttribute('data-status')).toBe('completed');
    await shoot('rollouts');
    await accessible('rollouts');
  });

  it('shows the fleet grid with each cell of the policy (Fleet)', async () => {
    await go('#/fleet');
    await cell('web-1', 'web-latency').and(page.locator('[data-state="attached"]')).waitFor();
    // web-2 has nf_tables declared but not loaded: its nft_* targets wait
    await cell('web-2', 'web-latency').and(page.locator('[data-state="pending"]')).waitFor();
    await expect(cell('gate-1', 'web-latency').getAttribute('data-state')).resolves.toBe('none');
    await page.getByLabel('Label filter').fill('zone=b');
    await page.locator('#fleet-grid tbody tr').nth(1).waitFor({ state: 'detached' });
    expect(await page.locator('#fleet-grid tbody th').allTextContents()).toEqual(['web-2']);
    await page.getByLabel('Label filter').fill('');
    await page.locator('#fleet-grid tbody tr').nth(4).waitFor();
    await shoot('fleet');
    await accessible('fleet');
  });

  it('loads a module from the page and sees pending become attached (Node)', async () => {
    await go('#/node/web-2');
    await page.locator('#pending-targets').waitFor();
    expect(await page.locator('#pending-targets li').count()).toBe(2);
    await shoot('node');
    await accessible('node');
    await page.getByRole('button', { name: 'Load module nf_tables' }).click();
    await page.locator('#no-pending').waitFor({ timeout: 20_000 });
    await page.getByRole('link', { name: 'nft_do_chain', exact: true }).first().waitFor();
    await go('#/fleet');
    await cell('web-2', 'web-latency').and(page.locator('[data-state="attached"]')).waitFor();
  });

  it('finds who traces tcp_sendmsg now (Function)', async () => {
    await go('#/function/tcp_sendmsg');
    await page.locator('#function-uses').waitFor();
    const nodes = await page.locator('#function-uses tbody th').allTextContents();
    expect(nodes).toEqual(['web-1', 'web-2', 'web-3']);
    expect(await page.locator('ol.events li').count()).toBeGreaterThan(0);
    await shoot('function');
    await accessible('function');
  });

  it('moves the timeline back to before the policy and sees nothing attached (Timeline)', async () => {
    const applied = (await api('GET', '/v1/console/events?type=PolicyApplied')) as {
      items: { position: number; policy: string }[];
    };
    const at = applied.items.find((e) => e.policy === 'web-latency')!.position;
    await go('#/timeline');
    await page.locator('#timeline-viewport li.event').first().waitFor();
    await page.locator('#fleet-grid [data-state="attached"]').first().waitFor();
    await page.getByLabel('Position number').fill(String(at - 1));
    await page.getByLabel('Position number').press('Enter');
    await page.locator('#travel-state', { hasText: `as of position ${at - 1}` }).waitFor();
    await page.locator('#fleet-grid caption', { hasText: 'as it stood' }).waitFor();
    expect(await page.locator('#fleet-grid [data-state="attached"]').count()).toBe(0);
    expect(await page.locator('#fleet-grid thead th').allTextContents()).not.toContain(
      'web-latency v1',
    );
    // one position after the policy's last link: attached again
    await page.getByRole('button', { name: 'Back to live' }).click();
    await page.locator('#fleet-grid [data-state="attached"]').first().waitFor();
    // the filter reads the log through the API, page by page
    await page.getByLabel('Type').fill('PolicyApplied');
    await page.locator('#timeline-viewport li.event[data-type="PolicyApplied"]').first().waitFor();
    await shoot('timeline');
    await accessible('timeline');
    await page.getByLabel('Type').fill('');
  });

  it('holds a wave at the failure gate and resumes it from the page (Rollouts)', async () => {
    await go('#/rollouts');
    await api('POST', '/v1/policies', GATE_POLICY);
    const rollout = page.locator('[data-rollout="gated-v1"]');
    await rollout.locator('h2 [data-status="held"]').waitFor({ timeout: 30_000 });
    await rollout.locator('.reason', { hasText: 'maxFailureRatio' }).first().waitFor();
    await shoot('rollout-held');
    await accessible('rollout-held');
    await rollout.getByRole('button', { name: 'Resume' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Resume rollout gated-v1?').waitFor();
    await accessible('resume dialog');
    await dialog.getByRole('button', { name: 'Resume' }).click();
    await rollout.locator('h2 [data-status="completed"]').waitFor({ timeout: 30_000 });
    const log = (await api('GET', '/v1/console/events?type=WaveStarted,WaveHeld')) as {
      items: { type: string; rolloutId: string | null }[];
    };
    expect(log.items.filter((e) => e.rolloutId === 'gated-v1').map((e) => e.type)).toEqual([
      'WaveStarted',
      'WaveHeld',
      'WaveStarted',
    ]);
  });

  it('ran under its Content-Security-Policy without a violation or a script error', () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
