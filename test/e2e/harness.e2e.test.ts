// The real-container harness itself (root), before the suites that rely on it: a private containerd
// (hack/e2e/containerd-env), the base images built offline (hack/e2e/make-image), 3 pods in 2 namespaces created
// through the CRI API (hack/e2e/cri-pods), checked from the host as a kubelet node would show them: each
// container's /proc/<pid>/cgroup, kubelet's log folders and links, the image's files seen through the container's
// mount namespace, run-as ids, env; then stop/status, rejected specs, and a `down` that leaves nothing behind.
import { expect } from 'chai';
import { execFile, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as h from './harness.js';

/** Its own containerd state, apart from the other suites' (E2E_STATE, when set, gets a -smoke sibling). */
const state = process.env.E2E_STATE ? `${process.env.E2E_STATE}-smoke` : '/run/container-scanner-smoke';
const images = ['pause', 'e2e-debian', 'e2e-usrlib', 'e2e-scratch'];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a harness command from the repository root with `env`; resolves with its exit code (never rejects). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: h.repoRoot, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** As `run`, failing the test unless the command succeeds. */
async function runOk(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(cmd, args, env);
  expect(r.code, `${cmd} ${args.join(' ')} failed:\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

const spec: h.PodSpec[] = [
  {
    namespace: 'smoke-a',
    name: 'web',
    qos: 'burstable',
    containers: [
      {
        name: 'app',
        image: 'docker.io/library/e2e-debian:latest',
        command: ['/bin/sleep', '3600'],
        env: { SMOKE: 'yes' },
      },
      {
        name: 'sidecar',
        image: 'docker.io/library/e2e-usrlib:latest',
        command: ['/bin/sleep'],
        args: ['3600'],
        runAsUser: 1000,
        runAsGroup: 1000,
      },
    ],
  },
  {
    namespace: 'smoke-a',
    name: 'tool',
    qos: 'guaranteed',
    containers: [{ name: 'bin', image: 'docker.io/library/e2e-scratch:latest', command: ['/bin/sleep', '3600'] }],
  },
  {
    namespace: 'smoke-b',
    name: 'cache',
    uid: '0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b',
    containers: [{ name: 'main', image: 'docker.io/library/e2e-debian:latest', command: [] }],
  },
];

/** What each image holds: the content `nsenter ... cat PATH` must show, a line it must contain, or absent. */
const hostOsRelease = readFileSync(realpathSync('/etc/os-release'), 'utf8');
type Expected = { content: string } | { line: string } | 'absent';
const imageFiles: Record<string, Record<string, Expected>> = {
  'e2e-debian': { '/etc/os-release': { content: hostOsRelease }, '/usr/lib/os-release': { content: hostOsRelease } },
  'e2e-usrlib': { '/etc/os-release': 'absent', '/usr/lib/os-release': { line: 'ID="rhel"' } },
  'e2e-scratch': { '/etc/os-release': 'absent', '/usr/lib/os-release': 'absent' },
};

describe('the real-container harness (hack/e2e)', function () {
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, E2E_STATE: state };
  let env: NodeJS.ProcessEnv & h.Env;
  let created: h.CreatedPod[] = [];
  let specDir: string;
  let isDown = false;
  const criPods = (args: string[]) => run('hack/e2e/cri-pods', args, env);
  const createFrom = (pods: unknown) => {
    const file = join(specDir, 'spec.json');
    writeFileSync(file, JSON.stringify({ pods }));
    return criPods([
      'create',
      '--spec',
      file,
      '--pod-logs-dir',
      env.E2E_POD_LOGS_DIR,
      '--container-logs-dir',
      env.E2E_CONTAINER_LOGS_DIR,
    ]);
  };
  const ctrList = async (what: 'containers' | 'images') =>
    (await runOk('ctr', ['-a', env.CONTAINERD_ADDRESS, '-n', 'k8s.io', what, 'ls', '-q'], env))
      .split(/\s+/)
      .filter(Boolean);

  before(async function () {
    specDir = mkdtempSync(join(tmpdir(), 'e2e-harness-'));
    await runOk('hack/e2e/containerd-env', ['up'], baseEnv);
  });

  after(async function () {
    rmSync(specDir, { force: true, recursive: true });
    if (!isDown) await run('hack/e2e/containerd-env', ['down'], baseEnv);
  });

  it('`up` twice keeps the one running containerd', async function () {
    const before = read(`${state}/containerd.pid`);
    expect(before).to.match(/^\d+\n$/);
    await runOk('hack/e2e/containerd-env', ['up'], baseEnv);
    expect(read(`${state}/containerd.pid`)).to.equal(before);
  });

  it('`env` exports the socket and the log folders under $E2E_STATE', async function () {
    const exported: Record<string, string> = {};
    for (const line of (await runOk('hack/e2e/containerd-env', ['env'], baseEnv)).split('\n')) {
      const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
      if (m?.[1] && m[2] !== undefined) exported[m[1]] = m[2];
    }
    expect(exported).to.include({
      CONTAINERD_ADDRESS: `${state}/containerd.sock`,
      E2E_POD_LOGS_DIR: `${state}/log/pods`,
      E2E_CONTAINER_LOGS_DIR: `${state}/log/containers`,
    });
    env = { ...baseEnv, ...exported } as NodeJS.ProcessEnv & h.Env;
  });

  it('images are imported in namespace k8s.io as docker.io/library/NAME:latest', async function () {
    for (const image of images) await runOk(`test/e2e/images/${image}/build`, [], env);
    expect(await ctrList('images')).to.include.members(images.map((i) => `docker.io/library/${i}:latest`));
  });

  it('create reports the pods in spec order, keeps a given uid and generates random (v4) ones', async function () {
    const r = await createFrom(spec);
    expect(r.code, r.stderr).to.equal(0);
    created = (JSON.parse(r.stdout) as { pods: h.CreatedPod[] }).pods;
    expect(created.map((p) => `${p.namespace}/${p.name}`)).to.deep.equal(spec.map((p) => `${p.namespace}/${p.name}`));
    expect(created[2]?.uid).to.equal(spec[2]?.uid);
    expect(created[0]?.uid).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  for (const [index, want] of spec.entries()) {
    it(`${want.namespace}/${want.name}: laid out as kubelet lays it out`, function () {
      const pod = created[index];
      if (!pod) throw new Error('create did not report this pod');
      checkPod(env, want, pod);
    });
  }

  it('status of a running container, stop ends its process, an unknown id is NotFound', async function () {
    const victim = created[1]?.containers[0];
    if (!victim) throw new Error('no container to stop');
    const status = await criPods(['status', '--id', victim.id]);
    expect(JSON.parse(status.stdout)).to.deep.equal({ id: victim.id, state: 'CONTAINER_RUNNING', pid: victim.pid });
    const stopped = await criPods(['stop', '--id', victim.id]);
    expect(JSON.parse(stopped.stdout)).to.include({ state: 'CONTAINER_EXITED' });
    expect(existsSync(`/proc/${victim.pid}`), 'the stopped process is gone').to.equal(false);
    const missing = await criPods(['status', '--id', '0'.repeat(64)]);
    expect(missing.code).to.not.equal(0);
    expect(missing.stderr).to.contain('NotFound');
  });

  it("a namespace with '_' or capitals is refused with a clear error, before anything is created", async function () {
    const bad = await createFrom([{ namespace: 'Bad_NS', name: 'x', containers: [] }]);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.contain('DNS-1123');
    expect(readdirSync(env.E2E_POD_LOGS_DIR).filter((d) => d.includes('Bad_NS'))).to.deep.equal([]);
  });

  it('a failed create removes the pod it was making (the others stay)', async function () {
    const before = await ctrList('containers');
    expect(before, 'containerd holds 3 sandboxes and 4 containers').to.have.length(3 + 4);
    const broken = await createFrom([
      {
        namespace: 'smoke-c',
        name: 'broken',
        containers: [
          { name: 'ok', image: 'docker.io/library/e2e-scratch:latest', command: ['/bin/sleep', '3600'] },
          { name: 'nope', image: 'docker.io/library/no-such-image:latest', command: ['/x'] },
        ],
      },
    ]);
    expect(broken.code).to.not.equal(0);
    expect(broken.stderr).to.contain('pod smoke-c/broken');
    expect(await ctrList('containers')).to.have.members(before);
  });

  it('down leaves no state folder, mount, shim, container process or pod cgroup behind', async function () {
    expect(created.length, 'pods were created').to.be.greaterThan(0);
    isDown = true;
    await runOk('hack/e2e/containerd-env', ['down'], baseEnv);
    expect(existsSync(state), 'the state folder').to.equal(false);
    expect(read('/proc/self/mounts')).to.not.contain(state);
    const shims = await run('pgrep', ['-f', `-address ${state}/containerd.sock`], baseEnv);
    expect(shims.stdout.trim(), 'shims of this containerd').to.equal('');
    const pids = created.flatMap((p) => [p.sandboxPid, ...p.containers.map((c) => c.pid)]);
    expect(
      pids.filter((pid) => existsSync(`/proc/${pid}`)),
      'container processes still running',
    ).to.deep.equal([]);
    const leftovers = created.flatMap((p) =>
      ['memory', 'pids', 'unified'].flatMap((base) =>
        ['', 'besteffort/', 'burstable/'].map((qos) => `/sys/fs/cgroup/${base}/kubepods/${qos}pod${p.uid}`),
      ),
    );
    expect(
      leftovers.filter((d) => existsSync(d)),
      'pod cgroups left',
    ).to.deep.equal([]);
  });
});

/** What the host shows of one created pod, against its spec. */
function checkPod(env: h.Env, want: h.PodSpec, pod: h.CreatedPod): void {
  const { namespace: ns, name, uid } = pod;
  const qos = want.qos ?? 'besteffort';
  const parent = qos === 'guaranteed' ? `/kubepods/pod${uid}` : `/kubepods/${qos}/pod${uid}`;
  expect(pod.sandboxId, 'sandbox id').to.match(/^[0-9a-f]{64}$/);
  const sandboxCgroup = read(`/proc/${pod.sandboxPid}/cgroup`) ?? '';
  const sandboxLines = sandboxCgroup.split(`${parent}/${pod.sandboxId}\n`).length - 1;
  expect(sandboxLines, `sandbox in ${parent}/<sandbox id>`).to.be.at.least(2);
  expect(read(`/proc/${pod.sandboxPid}/comm`)?.trim(), 'the sandbox runs pause').to.equal('pause');
  const podDir = join(env.E2E_POD_LOGS_DIR, `${ns}_${name}_${uid}`);
  expect(lstatSync(podDir).isDirectory(), `pod log folder ${ns}_${name}_<uid>`).to.equal(true);
  const names = (containers: { name: string }[]) => containers.map((c) => c.name);
  expect(names(pod.containers), 'containers in spec order').to.deep.equal(names(want.containers));
  for (const [i, c] of pod.containers.entries()) {
    const cspec = want.containers[i];
    if (!cspec) throw new Error(`container ${c.name} is not in the spec`);
    const where = `${ns}/${name}/${c.name}`;
    expect(c.id, `${where}: id`).to.match(/^[0-9a-f]{64}$/);
    expect(c.id, `${where}: id`).to.not.equal(pod.sandboxId);
    expect(c.image, `${where}: image`).to.equal(cspec.image);
    const lines = (read(`/proc/${c.pid}/cgroup`) ?? '')
      .split('\n')
      .filter((line) => ['memory', 'pids', ''].includes(line.split(':')[1] ?? '-'));
    expect(lines, `${where}: /proc/<pid>/cgroup (memory, pids, unified)`).to.have.length(3);
    for (const line of lines) expect(line, `${where}: cgroup`).to.match(new RegExp(`:${parent}/${c.id}$`));
    const logFile = join(podDir, c.name, '0.log');
    expect(lstatSync(logFile).isFile(), `${where}: log file <pod folder>/${c.name}/0.log`).to.equal(true);
    const link = join(env.E2E_CONTAINER_LOGS_DIR, `${name}_${ns}_${c.name}-${c.id}.log`);
    expect(lstatSync(link).isSymbolicLink(), `${where}: link <pod>_<ns>_<container>-<id>.log`).to.equal(true);
    expect(realpathSync(link)).to.equal(realpathSync(logFile));
    const status = read(`/proc/${c.pid}/status`) ?? '';
    const ids = (key: string) =>
      status
        .split('\n')
        .find((l) => l.startsWith(`${key}:`))
        ?.split(/\s+/)
        .slice(1, 5);
    const wantUid = String(cspec.runAsUser ?? 0);
    expect(ids('Uid'), `${where}: runs as uid ${wantUid}`).to.deep.equal([wantUid, wantUid, wantUid, wantUid]);
    if (cspec.runAsGroup !== undefined) {
      const gid = String(cspec.runAsGroup);
      expect(ids('Gid'), `${where}: runs as gid ${gid}`).to.deep.equal([gid, gid, gid, gid]);
    }
    const cmdline = (read(`/proc/${c.pid}/cmdline`) ?? '').split('\0').slice(0, -1);
    // An empty command runs the image's Cmd.
    const wantCmd = [...cspec.command, ...(cspec.args ?? [])];
    expect(cmdline, `${where}: command`).to.deep.equal(wantCmd.length ? wantCmd : ['/bin/sleep', '3600']);
    const environ = (read(`/proc/${c.pid}/environ`) ?? '').split('\0');
    for (const [key, value] of Object.entries(cspec.env ?? {})) {
      expect(environ, `${where}: env`).to.include(`${key}=${value}`);
    }
    const image = cspec.image.split('/').pop()?.split(':')[0] ?? '';
    for (const [path, expected] of Object.entries(imageFiles[image] ?? {})) {
      const seen = nsenterCat(c.pid, path);
      if (expected === 'absent') {
        expect(seen.code, `${where}: the image has no ${path}`).to.not.equal(0);
      } else if ('line' in expected) {
        expect(seen.stdout.split('\n'), `${where}: ${path} is the image's`).to.include(expected.line);
      } else {
        expect(seen.code, `${where}: ${path}`).to.equal(0);
        expect(seen.stdout, `${where}: ${path} is the image's (the host's Debian file)`).to.equal(expected.content);
      }
    }
  }
}

/** The host's `cat` in the container's mount namespace: the image's files, not the host's. */
function nsenterCat(pid: number, path: string): { code: number; stdout: string } {
  const r = spawnSync('nsenter', ['-t', String(pid), '-m', 'cat', path], { encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout };
}
