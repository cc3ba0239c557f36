// Drives the real-container harness (hack/e2e) from the end-to-end tests: a private containerd, images
// built offline, pods laid out as kubelet lays them out, and the scanner binaries from `make build`.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, '..', '..');
/** `make build`'s scanner, unless SCAN_CONTAINERS names another build (the analyzer is found beside it). */
export const scanContainers = process.env.SCAN_CONTAINERS ?? join(repoRoot, 'bin', 'scan-containers');

export interface ContainerSpec {
  name: string;
  image: string;
  command: string[];
  args?: string[];
  runAsUser?: number;
  runAsGroup?: number;
  env?: Record<string, string>;
  /** Capabilities added to the runtime's default set, e.g. "SYS_PTRACE" (securityContext.capabilities.add). */
  capAdd?: string[];
}

export interface PodSpec {
  namespace: string;
  name: string;
  uid?: string;
  qos?: 'besteffort' | 'burstable' | 'guaranteed';
  containers: ContainerSpec[];
}

export interface CreatedContainer {
  name: string;
  id: string;
  pid: number;
  image: string;
}

export interface CreatedPod {
  namespace: string;
  name: string;
  uid: string;
  sandboxId: string;
  sandboxPid: number;
  containers: CreatedContainer[];
}

export interface Env {
  CONTAINERD_ADDRESS: string;
  E2E_POD_LOGS_DIR: string;
  E2E_CONTAINER_LOGS_DIR: string;
  [key: string]: string;
}

async function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run(cmd, args, { cwd: repoRoot, env: env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Starts the private containerd and returns its environment (from `containerd-env env`). */
export async function up(): Promise<Env> {
  await sh('hack/e2e/containerd-env', ['up']);
  const exports = await sh('hack/e2e/containerd-env', ['env']);
  const env: Record<string, string> = {};
  for (const line of exports.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) env[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
  }
  for (const key of ['CONTAINERD_ADDRESS', 'E2E_POD_LOGS_DIR', 'E2E_CONTAINER_LOGS_DIR']) {
    if (!env[key]) throw new Error(`containerd-env env did not export ${key}`);
  }
  return env as Env;
}

export async function down(): Promise<void> {
  await sh('hack/e2e/containerd-env', ['down']);
}

export async function buildImage(env: Env, name: string): Promise<void> {
  await sh(join('test/e2e/images', name, 'build'), [], { ...process.env, ...env });
}

export async function createPods(env: Env, pods: PodSpec[]): Promise<CreatedPod[]> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-spec-'));
  const specPath = join(dir, 'spec.json');
  await import('node:fs/promises').then((fs) => fs.writeFile(specPath, JSON.stringify({ pods })));
  const out = await sh(
    'hack/e2e/cri-pods',
    [
      'create',
      '--spec',
      specPath,
      '--pod-logs-dir',
      env.E2E_POD_LOGS_DIR,
      '--container-logs-dir',
      env.E2E_CONTAINER_LOGS_DIR,
    ],
    { ...process.env, ...env },
  );
  const created = JSON.parse(out) as { pods: CreatedPod[] } | CreatedPod[];
  return Array.isArray(created) ? created : created.pods;
}

export async function deleteAllPods(env: Env): Promise<void> {
  await sh('hack/e2e/cri-pods', ['delete-all'], { ...process.env, ...env });
}

export interface ScanRun {
  code: number | null;
  tree: Record<string, Record<string, Record<string, Record<string, string>>>>;
  report: Report;
  stderr: string;
  durationMs: number;
}

export interface ReportContainer {
  namespace: string;
  pod: string;
  id: string;
  container?: string;
  pid: number;
  process: string;
  status: 'scanned' | 'failed';
  error?: string;
  analyzer?: Record<string, string>;
  /** Wall time of this container's scan, and what its analyzer used (from wait4), when it ran. */
  durationMs?: number;
  analyzerCpuMs?: number;
  analyzerMaxRssKb?: number;
}

export interface Report {
  containersFound: number;
  containersScanned: number;
  containersFailed: number;
  sandboxesSkipped: number;
  containers: ReportContainer[];
}

/** Another scanner binary (e.g. a test-only build) and extra environment for it. */
export interface ScanOptions {
  binary?: string;
  extraEnv?: Record<string, string>;
}

/**
 * Runs bin/scan-containers with `args` (plus --output/--report in a temp folder). `onStderrLine` sees each
 * log line as it arrives, with the child, so a test can act mid-scan.
 */
export async function scan(
  env: Env,
  args: string[],
  onStderrLine?: (line: string, child: ReturnType<typeof spawn>) => void,
  options: ScanOptions = {},
): Promise<ScanRun> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-scan-'));
  const output = join(dir, 'scan.json');
  const report = join(dir, 'report.json');
  const started = Date.now();
  const child = spawn(
    options.binary ?? scanContainers,
    [
      '--pod-logs-dir',
      env.E2E_POD_LOGS_DIR,
      '--container-logs-dir',
      env.E2E_CONTAINER_LOGS_DIR,
      '--output',
      output,
      '--report',
      report,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.extraEnv } },
  );
  let stderr = '';
  let pending = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onStderrLine?.(line, child);
    }
  });
  const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
  const durationMs = Date.now() - started;
  if (code !== 0) return { code, tree: {}, report: {} as Report, stderr, durationMs };
  return {
    code,
    tree: JSON.parse(readFileSync(output, 'utf8')) as ScanRun['tree'],
    report: JSON.parse(readFileSync(report, 'utf8')) as Report,
    stderr,
    durationMs,
  };
}

/** Runs `cmd` inside a running container through the CRI (as `kubectl exec` does), with the container's identity. */
export async function execInContainer(
  env: Env,
  id: string,
  cmd: string[],
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const out = await sh('hack/e2e/cri-pods', ['exec', '--id', id, '--', ...cmd], { ...process.env, ...env });
  return JSON.parse(out) as { exitCode: number; stdout: string; stderr: string };
}

/** Runs a command and returns its exit code, stdout and stderr, without throwing. */
export async function runCommand(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd: repoRoot });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/**
 * Polls `check` until it returns true or `ms` pass. On timeout the error says what was awaited and, with
 * `explain`, what was seen instead (a server's last log lines), so that a failure on CI can be read from its output.
 */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 20000,
  explain?: () => string,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seen = explain?.();
  throw new Error(`timed out after ${ms} ms waiting for ${what}${seen ? `; instead:\n${seen}` : ''}`);
}

/**
 * The CRI log file of a created container, where kubelet's layout puts it:
 * `<pod-logs-dir>/<ns>_<pod>_<uid>/<container>/0.log`.
 */
export function containerLogPath(env: Env, pod: CreatedPod, container: string): string {
  return join(env.E2E_POD_LOGS_DIR, `${pod.namespace}_${pod.name}_${pod.uid}`, container, '0.log');
}

/** What a created container has logged so far (CRI log lines, stdout and stderr), or "" before its first line. */
export function containerLog(env: Env, pod: CreatedPod, container: string): string {
  try {
    return readFileSync(containerLogPath(env, pod, container), 'utf8');
  } catch {
    return '';
  }
}

/**
 * How a created container is doing, for a failure message: whether its first process still runs, and its last
 * `lines` log lines.
 */
export function containerState(env: Env, pod: CreatedPod, container: string, lines = 40): string {
  const pid = pod.containers.find((c) => c.name === container)?.pid;
  const alive = pid !== undefined && existsSync(`/proc/${pid}`);
  const log = containerLog(env, pod, container).split('\n');
  const tail = log.slice(Math.max(0, log.length - 1 - lines)).join('\n');
  return `pid ${pid ?? '?'} ${alive ? 'still runs' : 'has exited'}; its last log lines:\n${tail || '(none)'}`;
}
