// End to end: real containerd + runc pods laid out as kubelet lays them out, scanned by the real
// bin/scan-containers. Needs root (hack/test-e2e runs it).
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateReport, validateScan } from '../../controller/reporter/validate-scan.js';
import * as h from './harness.js';

const debian = { 'os-release-id': 'debian', 'os-release-version-id': '12' };
/** The e2e-usrlib image's /usr/lib/os-release (its only one). */
const usrlib = { 'os-release-id': 'rhel', 'os-release-version-id': '9.4' };
const sleeper = ['/bin/sleep', '3600'];
/** Bash run as `bash -c TAKE_PID take-pid <pid>`: waits for <pid> to be free, then forks subshells until one gets
 * exactly that PID (through ns_last_pid; other processes may take it first), which says "took" and stays alive (as
 * bash, its command line naming take-pid) for 120 s; exits 1 if it cannot. */
const TAKE_PID = `
want=$1
deadline=$((SECONDS + 20))
while [[ -e /proc/$want ]] && ((SECONDS < deadline)); do sleep 0.01; done
while ((SECONDS < deadline)); do
  echo $((want - 1)) >/proc/sys/kernel/ns_last_pid
  # A subshell is one fork; the command after sleep keeps bash from exec'ing sleep in its place.
  ( [[ $BASHPID == "$want" ]] || exit 3; echo took; sleep 120; exit 0 )
  [[ $? == 3 ]] || exit 0
done
exit 1
`;
/** Runs a shell setup in the container, then becomes `sleep` (so the workload process is the sleeper). */
const thenSleep = (setup: string) => ['/bin/sh', '-c', `${setup} && exec /bin/sleep 3600`];
/** A host file that a symlink in a container points at: it must never be read. */
const hostSecret = '/tmp/e2e-host-os-release';

/** The Temurin JDK the e2e-java image copies, and what its own `release` file says. */
function temurinRelease(): { version: string; implementer: string } {
  const jdk = execFileSync('sh', ['-c', 'ls -d /usr/lib/jvm/temurin-*-jdk-amd64 | sort -V | tail -n 1'])
    .toString()
    .trim();
  const release = readFileSync(join(jdk, 'release'), 'utf8');
  const value = (key: string) => new RegExp(`^${key}="([^"]*)"`, 'm').exec(release)?.[1] ?? '';
  return { version: value('JAVA_VERSION'), implementer: value('IMPLEMENTOR') };
}

const pods: h.PodSpec[] = [
  {
    namespace: 'apps',
    name: 'runtimes',
    containers: [
      { name: 'java', image: 'docker.io/library/e2e-java:latest', command: [], runAsUser: 1001, runAsGroup: 1001 },
      { name: 'go', image: 'docker.io/library/e2e-go:latest', command: [] },
    ],
  },
  {
    namespace: 'shop',
    name: 'web',
    qos: 'burstable',
    containers: [
      { name: 'app', image: 'docker.io/library/e2e-debian:latest', command: sleeper },
      { name: 'sidecar', image: 'docker.io/library/e2e-usrlib:latest', command: sleeper },
    ],
  },
  {
    namespace: 'shop',
    name: 'worker',
    containers: [
      {
        name: 'job',
        image: 'docker.io/library/e2e-debian:latest',
        command: sleeper,
        runAsUser: 1000,
        runAsGroup: 1000,
      },
    ],
  },
  {
    namespace: 'tools',
    name: 'static',
    qos: 'guaranteed',
    containers: [{ name: 'bin', image: 'docker.io/library/e2e-scratch:latest', command: sleeper }],
  },
  {
    namespace: 'hostile',
    name: 'symlinks',
    containers: [
      {
        name: 'absolute',
        image: 'docker.io/library/e2e-debian:latest',
        command: thenSleep(`ln -sf ${hostSecret} /etc/os-release`),
      },
      {
        name: 'relative',
        image: 'docker.io/library/e2e-debian:latest',
        command: thenSleep(`ln -sf ../../../../../../..${hostSecret} /etc/os-release`),
      },
    ],
  },
  {
    namespace: 'hostile',
    name: 'endless',
    containers: [
      {
        name: 'fifo',
        image: 'docker.io/library/e2e-debian:latest',
        command: thenSleep('rm -f /etc/os-release && mkfifo /etc/os-release'),
      },
      {
        name: 'zero',
        image: 'docker.io/library/e2e-debian:latest',
        command: thenSleep('ln -sf /dev/zero /etc/os-release'),
      },
      {
        name: 'huge',
        image: 'docker.io/library/e2e-debian:latest',
        command: thenSleep(
          "rm -f /etc/os-release && printf 'ID=huge\\nVERSION_ID=1\\n' > /etc/os-release && dd of=/etc/os-release " +
            'bs=1 count=0 seek=1073741824 conv=notrunc 2>/dev/null',
        ),
      },
    ],
  },
];

describe('scan-containers against real containers', function () {
  let env: h.Env;
  let created: h.CreatedPod[];
  const ourIds = () => new Set(created.flatMap((p) => p.containers.map((c) => `containerd://${c.id}`)));
  const idOf = (ns: string, pod: string, container: string): string => {
    const c = created.find((p) => p.namespace === ns && p.name === pod)?.containers.find((x) => x.name === container);
    if (!c) throw new Error(`no container ${ns}/${pod}/${container}`);
    return c.id;
  };

  before(async function () {
    writeFileSync(hostSecret, 'ID=hostleak\nVERSION_ID=666\n');
    env = await h.up();
    for (const image of ['pause', 'e2e-debian', 'e2e-usrlib', 'e2e-scratch', 'e2e-java', 'e2e-go']) {
      await h.buildImage(env, image);
    }
    created = await h.createPods(env, pods);
    // Wait until every setup command has exec'd into the sleeper.
    for (const pod of created) {
      for (const c of pod.containers) {
        const workload = { java: 'java', go: 'greeter' }[c.name] ?? 'sleep';
        await h.waitFor(`${pod.name}/${c.name} to run ${workload}`, () => comm(c.pid) === workload);
        // A JVM is recognised by its mapped libjvm.so: wait until the launcher has loaded it.
        if (workload === 'java') await h.waitFor('the JVM to map libjvm.so', () => maps(c.pid).includes('/libjvm.so'));
      }
    }
  });

  after(async function () {
    rmSync(hostSecret, { force: true });
    if (env) {
      await h.deleteAllPods(env).catch(() => undefined);
      await h.down();
    }
  });

  it("prints the exact tree: namespaces, pods, container ids, each image's os-release and runtime", async function () {
    const run = await h.scan(env, []);
    expect(run.code, run.stderr).to.equal(0);
    const cid = (ns: string, pod: string, c: string) => `containerd://${idOf(ns, pod, c)}`;
    const jdk = temurinRelease();
    const goVersion = execFileSync('go', ['env', 'GOVERSION']).toString().trim();
    // Scoped to the containers this suite made: other pods on the machine (another harness, a kubelet) show too.
    expect(scoped(run.tree, ourIds())).to.deep.equal({
      apps: {
        runtimes: {
          [cid('apps', 'runtimes', 'java')]: {
            'runtime-kind': 'Java',
            'runtime-kind-version': jdk.version,
            'runtime-kind-implementer': jdk.implementer,
          },
          [cid('apps', 'runtimes', 'go')]: { 'runtime-kind': 'Golang', 'runtime-kind-version': goVersion },
        },
      },
      hostile: {
        endless: {
          [cid('hostile', 'endless', 'fifo')]: {},
          [cid('hostile', 'endless', 'zero')]: {},
          [cid('hostile', 'endless', 'huge')]: { 'os-release-id': 'huge', 'os-release-version-id': '1' },
        },
        symlinks: {
          [cid('hostile', 'symlinks', 'absolute')]: debian,
          [cid('hostile', 'symlinks', 'relative')]: debian,
        },
      },
      shop: {
        web: { [cid('shop', 'web', 'app')]: debian, [cid('shop', 'web', 'sidecar')]: usrlib },
        worker: { [cid('shop', 'worker', 'job')]: debian },
      },
      tools: { static: { [cid('tools', 'static', 'bin')]: {} } },
    });
    const mine = run.report.containers.filter((c) => ourIds().has(c.id));
    expect(mine.map((c) => c.status)).to.deep.equal(Array(11).fill('scanned'));
    expect(run.report.sandboxesSkipped, 'one sandbox per pod, none reported').to.be.at.least(created.length);
    const sandboxIds = created.map((p) => p.sandboxId);
    expect(JSON.stringify(run.report)).to.not.match(new RegExp(sandboxIds.join('|')));
  });

  it("writes outputs that the reporter (the controller's other half) accepts as they are", async function () {
    const run = await h.scan(env, ['--node-name', 'e2e-node']);
    expect(run.code, run.stderr).to.equal(0);
    const scan = validateScan(Buffer.from(JSON.stringify(run.tree)));
    const report = validateReport(Buffer.from(JSON.stringify(run.report)));
    expect(scan.tree).to.deep.equal(Object.fromEntries(Object.entries(run.tree).filter(([ns]) => ns !== '')));
    expect(scan.containers + scan.unnamed).to.equal(run.report.containersScanned);
    expect(report.node).to.equal('e2e-node');
    expect(report.containersScanned).to.equal(run.report.containersScanned);
  });

  it('never reads a host file through a symlink planted in a container', async function () {
    const run = await h.scan(env, []);
    expect(JSON.stringify(run.tree)).to.not.contain('hostleak');
    // The secret's VERSION_ID is compared with values only: random container ids may well contain "666".
    const values = Object.values(run.tree).flatMap((pods) =>
      Object.values(pods).flatMap((containers) => Object.values(containers).flatMap((entry) => Object.values(entry))),
    );
    expect(values).to.not.include('666');
  });

  it('finishes quickly although os-release is a FIFO, /dev/zero or 1 GiB', async function () {
    const run = await h.scan(env, ['--timeout', '5']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.durationMs, "well inside one container's deadline").to.be.below(5000);
    for (const name of ['fifo', 'zero', 'huge']) {
      const entry = run.report.containers.find((c) => c.container === name);
      expect(entry?.status, name).to.equal('scanned');
    }
  });

  it('analyzes a uid-1000 container as uid 1000 with no capabilities, and a root one with none either', async function () {
    const run = await h.scan(env, ['--report-identity']);
    expect(run.code, run.stderr).to.equal(0);
    const job = run.report.containers.find((c) => c.container === 'job');
    expect(job?.analyzer).to.deep.equal({
      'analyzer-uid': '1000,1000,1000',
      'analyzer-gid': '1000,1000,1000',
      'analyzer-groups': 'none',
      'analyzer-cap-effective': '0000000000000000',
      'analyzer-cap-permitted': '0000000000000000',
      'analyzer-cap-bounding': '0',
      'analyzer-no-new-privs': 'true',
      'analyzer-seccomp': '2',
      'analyzer-dumpable': 'false',
    });
    const app = run.report.containers.find((c) => c.container === 'app');
    expect(app?.analyzer?.['analyzer-uid']).to.equal('0,0,0');
    expect(app?.analyzer?.['analyzer-cap-effective']).to.equal('0000000000000000');
    expect(app?.analyzer?.['analyzer-cap-permitted']).to.equal('0000000000000000');
    expect(app?.analyzer?.['analyzer-cap-bounding']).to.equal('0');
  });

  it('limits the scan with --container-ids (with or without scheme) and honours --runtime-scheme', async function () {
    const a = idOf('shop', 'web', 'app');
    const b = idOf('tools', 'static', 'bin');
    const run = await h.scan(env, ['--container-ids', `containerd://${a},${b}`, '--runtime-scheme', 'cri-o']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.tree).to.deep.equal({
      shop: { web: { [`cri-o://${a}`]: debian } },
      tools: { static: { [`cri-o://${b}`]: {} } },
    });
  });

  it('analyzes the program a shell wrapper started, not the wrapper', async function () {
    const [pod] = await h.createPods(env, [
      {
        namespace: 'wrapped',
        name: 'script',
        containers: [
          {
            name: 'main',
            image: 'docker.io/library/e2e-debian:latest',
            command: ['/bin/sh', '-c', '/bin/sleep 3600; echo bye'],
          },
        ],
      },
    ]);
    const main = pod!.containers[0]!;
    await h.waitFor("the wrapper's child to start", () => childrenOf(main.pid).length > 0);
    const run = await h.scan(env, ['--container-ids', main.id]);
    expect(run.code, run.stderr).to.equal(0);
    const entry = run.report.containers.find((c) => c.id === `containerd://${main.id}`);
    expect(comm(main.pid), "the container's first process is the shell").to.equal('sh');
    expect(entry?.pid).to.equal(childrenOf(main.pid)[0]);
    expect(entry?.process).to.equal('sleep');
    expect(run.tree).to.deep.equal({ wrapped: { script: { [`containerd://${main.id}`]: debian } } });
    await h.runCommand('kill', ['-9', String(main.pid)]);
  });

  it('gives an error entry to a container that exits mid-scan and keeps the rest', async function () {
    const [victimPod] = await h.createPods(env, [
      {
        namespace: 'zz-victim',
        name: 'dying',
        containers: [{ name: 'main', image: 'docker.io/library/e2e-debian:latest', command: sleeper }],
      },
    ]);
    const victim = victimPod!.containers[0]!;
    await h.waitFor('the victim to run', () => comm(victim.pid) === 'sleep');
    // Scan one container at a time: the victim sorts last. Freeze the scanner as soon as it has discovered
    // the containers, kill the victim, then let the scanner go on.
    const run = await h.scan(env, ['--concurrency', '1'], (line, child) => {
      if (line.includes('containers discovered')) {
        child.kill('SIGSTOP');
        process.kill(victim.pid, 'SIGKILL');
        setTimeout(() => child.kill('SIGCONT'), 500);
      }
    });
    expect(run.code, run.stderr).to.equal(0);
    const entry = run.report.containers.find((c) => c.id === `containerd://${victim.id}`);
    expect(entry?.status).to.equal('failed');
    expect(entry?.error).to.match(/exited before the scan|no longer belongs|reused/);
    expect(run.tree).to.not.have.property('zz-victim');
    expect(run.report.containers.filter((c) => ourIds().has(c.id) && c.status === 'scanned')).to.have.length(11);
  });

  it("does not scan a process that took over a dead container's PID", async function () {
    const [victimPod] = await h.createPods(env, [
      {
        namespace: 'zz-reused',
        name: 'dying',
        containers: [{ name: 'main', image: 'docker.io/library/e2e-debian:latest', command: sleeper }],
      },
    ]);
    const victim = victimPod!.containers[0]!;
    await h.waitFor('the victim to run', () => comm(victim.pid) === 'sleep');
    let impostor: ReturnType<typeof spawn> | undefined;
    try {
      // Freeze the scanner once it has discovered the victim, kill the victim, and start a HOST process with the
      // very same PID (the kernel hands out ns_last_pid + 1 next), so that /proc/<pid> now shows the host.
      const run = await h.scan(env, ['--concurrency', '1'], (line, child) => {
        if (!line.includes('containers discovered')) return;
        child.kill('SIGSTOP');
        process.kill(victim.pid, 'SIGKILL');
        impostor = spawn('bash', ['-c', TAKE_PID, 'take-pid', String(victim.pid)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        impostor.stdout!.once('data', () => child.kill('SIGCONT'));
        impostor.once('exit', () => child.kill('SIGCONT'));
      });
      expect(run.code, run.stderr).to.equal(0);
      expect(impostor?.exitCode, "the impostor got the victim's PID and still runs").to.equal(null);
      expect(readFileSync(`/proc/${victim.pid}/cmdline`, 'utf8')).to.contain('take-pid');
      const entry = run.report.containers.find((c) => c.id === `containerd://${victim.id}`);
      expect(entry?.status).to.equal('failed');
      expect(entry?.error).to.equal(`PID ${victim.pid} was reused by another process`);
      expect(run.tree).to.not.have.property('zz-reused');
    } finally {
      impostor?.kill('SIGKILL');
    }
  });

  describe('with a broken analyzer', function () {
    let dir: string;
    before(function () {
      dir = mkdtempSync(join(tmpdir(), 'e2e-analyzers-'));
      const programs: Record<string, string> = {
        hang: 'int main(void) { for (;;) {} }',
        crash: 'int main(void) { *(volatile int *)0 = 1; return 0; }',
        flood: '#include <unistd.h>\nint main(void) { static char b[4096]; for (;;) write(1, b, sizeof b); }',
        liar:
          '#include <string.h>\n#include <unistd.h>\nint main(void) { const char *s = ' +
          '"os-release-id=evil\\nsecret=x\\n"; write(1, s, strlen(s)); return 0; }',
      };
      for (const [name, source] of Object.entries(programs)) {
        writeFileSync(join(dir, `${name}.c`), source);
        execFileSync('gcc', ['-static', '-O1', '-o', join(dir, name), join(dir, `${name}.c`)]);
      }
    });

    const cases: [string, RegExp][] = [
      ['hang', /timed out/],
      ['crash', /signal 11/],
      ['flood', /exceeded 16384 bytes/],
      ['liar', /incomplete/],
    ];
    for (const [name, error] of cases) {
      it(`records an error for every container when the analyzer is a ${name} program, within the deadline`, async function () {
        const run = await h.scan(env, ['--analyzer', join(dir, name), '--timeout', '2', '--concurrency', '2']);
        expect(run.code, run.stderr).to.equal(0);
        expect(run.report.containersScanned).to.equal(0);
        expect(run.report.containersFailed).to.be.greaterThan(0);
        for (const c of run.report.containers) expect(c.error, c.id).to.match(error);
        expect(run.tree).to.deep.equal({});
        // ceil(containers / 2) rounds of at most 2 s each, plus start-up.
        const rounds = Math.ceil(run.report.containers.length / 2);
        expect(run.durationMs).to.be.below(rounds * 2000 + 3000);
      });
    }
  });

  it('refuses to run without privileges, with a clear message and exit code 3', async function () {
    const res = await h.runCommand('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--inh-caps=-all',
      h.scanContainers,
    ]);
    expect(res.code).to.equal(3);
    expect(res.stderr).to.match(/not privileged enough.*CAP_SYS_ADMIN/);
  });
});

type Tree = h.ScanRun['tree'];

/** The tree without the containers whose ids are not in `ids` (and without what that leaves empty). */
function scoped(tree: Tree, ids: Set<string>): Tree {
  const out: Tree = {};
  for (const [ns, pods] of Object.entries(tree)) {
    for (const [pod, containers] of Object.entries(pods)) {
      for (const [id, fields] of Object.entries(containers)) {
        if (ids.has(id)) ((out[ns] ??= {})[pod] ??= {})[id] = fields;
      }
    }
  }
  return out;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function maps(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return '';
  }
}

function comm(pid: number): string {
  try {
    return execFileSync('cat', [`/proc/${pid}/comm`])
      .toString()
      .trim();
  } catch {
    return '';
  }
}
