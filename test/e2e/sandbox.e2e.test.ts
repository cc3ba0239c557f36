// The sandbox against hostile containers (docs/security.md, "Threats"): a root container with the default
// capabilities (no CAP_SYS_PTRACE) that spins over /proc/*/fd/*, /proc/*/root and /proc/*/maps while it and
// its neighbours are scanned many times, one with CAP_SYS_PTRACE, and the child stopped after each sandbox
// step (a test-only build) and looked at from inside the container. Needs root (hack/test-e2e runs it).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as h from './harness.js';

/** At least 200 scans at concurrency 4 were asked for; a scan of these five containers takes about 30 ms. */
const SCANS = 1000;
const sleeper = ['/bin/sleep', '3600'];

/** ID and VERSION_ID of this machine's os-release: what every e2e-debian-based image holds. */
function hostOsRelease(): Record<string, string> {
  const text = readFileSync('/etc/os-release', 'utf8');
  const value = (key: string) => new RegExp(`^${key}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1] ?? '';
  return { 'os-release-id': value('ID'), 'os-release-version-id': value('VERSION_ID') };
}

interface Reached {
  pid: number;
  what: string;
  link: string;
  info: string;
}
interface Seen {
  pid: number;
  state: string;
  uid: string;
  capeff: string;
  capprm: string;
  nnp: string;
}
interface StealerLog {
  selfRoot: string;
  seen: Seen[];
  reached: Reached[];
}

/** Parses the stealer's lines (plain, or CRI log lines `<time> stdout F <line>`). */
function parseStealer(text: string): StealerLog {
  const log: StealerLog = { selfRoot: '', seen: [], reached: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\S+ (stdout|stderr) [FP] /, '');
    const fields = (prefix: string) =>
      Object.fromEntries(
        line
          .slice(prefix.length)
          .trim()
          .split(/ (?=[a-z]+=)/)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
    if (line.startsWith('self-root=')) log.selfRoot = line.slice('self-root='.length).trim();
    if (line.startsWith('seen ')) {
      const f = fields('seen ');
      log.seen.push({
        pid: Number(f.pid),
        state: f.state ?? '',
        uid: f.uid ?? '',
        capeff: f.capeff ?? '',
        capprm: f.capprm ?? '',
        nnp: f.nnp ?? '',
      });
    }
    // The link may hold spaces ("(deleted)") and the info more key=value pairs: match the line as a whole.
    const r = /^reached pid=(\d+) what=(\S+) link=(.*?) info=(.*)$/.exec(line);
    if (r) log.reached.push({ pid: Number(r[1]), what: r[2] ?? '', link: r[3] ?? '', info: r[4] ?? '' });
  }
  return log;
}

/** The process was gone between reading the link's name and opening it: nothing but the name was seen. */
function obtainedNothing(r: Reached): boolean {
  return r.info === 'here=no file=unreadable';
}

/** What a stealer reached that is not its own container's (the host's, or another container's). */
function notItsOwn(log: StealerLog): Reached[] {
  return log.reached.filter((r) => {
    if (obtainedNothing(r)) return false;
    if (r.what === 'maps') return false; // its own analyzer's mappings (it sees only its own PID namespace)
    if (r.link.startsWith('pipe:')) return false; // its own answer pipe, or the reader-less stderr pipe
    if (r.info.startsWith('here=yes ')) return false; // the very file or folder it has at that path itself
    if (r.link.startsWith('/memfd:scan-input')) return !r.info.includes('/stealer'); // its own workload's input
    // The sealed analyzer binary; or, when the stealer's readlink, stat and open straddle the analyzer's exec,
    // the descriptor that takes that number after it: the analyzer's first one, its root opened O_PATH. That
    // is the container's own root (the same device and inode as the stealer's `/`), a folder that read()
    // refuses (`file=` with nothing read) or, when stat saw the folder, the stealer's own etc/os-release.
    if (r.link.startsWith('/memfd:analyzer'))
      return !(
        r.info.includes('file=.ELF') ||
        r.info.endsWith(' file=') ||
        (log.selfRoot !== '' && r.info.startsWith(`here=no dir=${log.selfRoot} `))
      );
    return true;
  });
}

function stat(pid: number): { comm: string; state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const [state, ppid] = text.slice(close + 2).split(' ');
    return { comm: text.slice(text.indexOf('(') + 1, close), state: state ?? '', ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** The private anonymous memory of a process (`/proc/<pid>/maps` lines of no file: unnamed, named anonymous
 *  memory, or its heap or stack), adjacent mappings merged into one region. */
function anonymousRegions(pid: number): { start: bigint; end: bigint; names: string[] }[] {
  const regions: { start: bigint; end: bigint; names: string[] }[] = [];
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const [range = '', perms = '', , , inode = '', name = ''] = line.trim().split(/\s+/);
    const anonymous = ['', '[heap]', '[stack]'].includes(name) || name.startsWith('[anon:');
    if (!perms.endsWith('p') || inode !== '0' || !anonymous) continue;
    const [start, end] = range.split('-').map((hex) => BigInt(`0x${hex}`));
    const last = regions.at(-1);
    if (last && last.end === start) {
      last.end = end!;
      last.names.push(name);
    } else regions.push({ start: start!, end: end!, names: [name] });
  }
  return regions;
}

/** A stopped descendant (child 1 or child 2) of the scanner process `root`. */
function stoppedDescendant(root: number): number | undefined {
  const pids = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
  for (const pid of pids) {
    const s = stat(pid);
    if (s?.state !== 'T') continue;
    const parent = stat(s.ppid);
    if (s.ppid === root || parent?.ppid === root) return pid;
  }
  return undefined;
}

describe('the sandbox against hostile containers', function () {
  let env: h.Env;
  let created: h.CreatedPod[];
  const container = (name: string): h.CreatedContainer => {
    const c = created.flatMap((p) => p.containers).find((x) => x.name === name);
    if (!c) throw new Error(`no container ${name}`);
    return c;
  };

  before(async function () {
    env = await h.up();
    for (const image of ['pause', 'e2e-debian', 'e2e-go', 'e2e-stealer']) await h.buildImage(env, image);
    created = await h.createPods(env, [
      {
        namespace: 'hostile',
        name: 'stealer',
        containers: [{ name: 'stealer', image: 'docker.io/library/e2e-stealer:latest', command: [] }],
      },
      {
        namespace: 'hostile',
        name: 'tracer',
        containers: [
          { name: 'tracer', image: 'docker.io/library/e2e-stealer:latest', command: [], capAdd: ['SYS_PTRACE'] },
        ],
      },
      {
        namespace: 'victims',
        name: 'apps',
        containers: [
          { name: 'debian', image: 'docker.io/library/e2e-debian:latest', command: sleeper },
          {
            name: 'debian-1000',
            image: 'docker.io/library/e2e-debian:latest',
            command: sleeper,
            runAsUser: 1000,
            runAsGroup: 1000,
          },
          { name: 'go', image: 'docker.io/library/e2e-go:latest', command: [] },
        ],
      },
      {
        namespace: 'probe',
        name: 'steps',
        containers: [{ name: 'probe', image: 'docker.io/library/e2e-stealer:latest', command: sleeper }],
      },
    ]);
    const workloads: Record<string, string> = { stealer: 'stealer', tracer: 'stealer', go: 'greeter' };
    for (const c of created.flatMap((p) => p.containers)) {
      const want = workloads[c.name] ?? 'sleep';
      await h.waitFor(`${c.name} to run ${want}`, () => stat(c.pid)?.comm === want);
    }
  });

  after(async function () {
    if (env) {
      await h.deleteAllPods(env).catch(() => undefined);
      await h.down();
    }
  });

  it(
    `a root container without CAP_SYS_PTRACE reaches nothing of its neighbours or the host in ${SCANS} scans at ` +
      `concurrency 4, and no answer changes`,
    async function () {
      const debian = hostOsRelease();
      const goVersion = execFileSync('go', ['env', 'GOVERSION']).toString().trim();
      const expected: Record<string, Record<string, string>> = {
        stealer: debian,
        debian,
        'debian-1000': debian,
        go: { 'runtime-kind': 'Golang', 'runtime-kind-version': goVersion },
      };
      const scanned = ['stealer', 'tracer', 'debian', 'debian-1000', 'go'].map(container);
      const ids = scanned.map((c) => c.id).join(',');
      const changed: string[] = [];
      let tracerForged = 0;
      for (let i = 0; i < SCANS; i++) {
        const run = await h.scan(env, ['--container-ids', ids, '--concurrency', '4']);
        expect(run.code, run.stderr).to.equal(0);
        const entries = Object.fromEntries(
          Object.values(run.tree).flatMap((pods) =>
            Object.values(pods).flatMap((containers) => Object.entries(containers)),
          ),
        );
        for (const c of scanned) {
          const entry = entries[`containerd://${c.id}`];
          if (c.name === 'tracer') {
            if (JSON.stringify(entry ?? {}).includes('forged')) tracerForged++;
            continue;
          }
          if (JSON.stringify(entry) !== JSON.stringify(expected[c.name]))
            changed.push(`scan ${i}: ${c.name} ${JSON.stringify(entry)}`);
        }
      }
      const stealer = parseStealer(h.containerLog(env, created[0]!, 'stealer'));
      const reachedFds = stealer.reached.filter((r) => r.what !== 'root');
      const stealerForeign = notItsOwn(stealer);
      expect(
        changed,
        `${changed.length} answers differ from the artifacts' values (the stealer reached ${reachedFds.length} ` +
          `descriptors or mappings, ${stealerForeign.length} not its own: ` +
          `${JSON.stringify(stealerForeign.slice(0, 10))}): ${changed.slice(0, 10).join('; ')}`,
      ).to.deep.equal([]);

      // The stealer did watch: it saw the analyzers that ran in its PID namespace (one per scan).
      expect(stealer.seen.length, 'analyzer processes the stealer saw').to.be.at.least(SCANS / 4);
      // An exiting process no longer counts as non-dumpable once the kernel has dropped its memory: then only
      // its root (the container's own) is left, since the analyzer closes its descriptors before it exits.
      const notOwnRoot = stealer.reached.filter(
        (r) => !(r.what === 'root' && (r.info.startsWith('here=yes ') || obtainedNothing(r))),
      );
      expect(notOwnRoot, `what the stealer reached: ${JSON.stringify(notOwnRoot.slice(0, 20))}`).to.deep.equal([]);

      // With CAP_SYS_PTRACE the kernel lets a container into its own analyzer (dumpable or not), but that
      // holds only the container's own things: its root, its own input, its own answer pipe, the analyzer.
      const tracer = parseStealer(h.containerLog(env, created[1]!, 'tracer'));
      expect(tracer.reached.length, 'the CAP_SYS_PTRACE container reaches its own analyzer').to.be.greaterThan(0);
      // Its analyzers' roots are its own root, by device and inode: what notItsOwn accepts as its own folder.
      const analyzerRoots = tracer.reached.filter((r) => r.what === 'root' && !obtainedNothing(r));
      expect(analyzerRoots.length, 'analyzer roots the CAP_SYS_PTRACE container reached').to.be.greaterThan(0);
      expect(
        analyzerRoots.filter((r) => !r.info.startsWith(`here=yes dir=${tracer.selfRoot} `)),
        `analyzer roots that are not the CAP_SYS_PTRACE container's own (self-root=${tracer.selfRoot})`,
      ).to.deep.equal([]);
      const foreign = notItsOwn(tracer);
      expect(
        foreign,
        `what the CAP_SYS_PTRACE container reached that is not its own: ${JSON.stringify(foreign.slice(0, 20))}`,
      ).to.deep.equal([]);
      console.log(
        `      (${SCANS} scans: the stealer saw ${stealer.seen.length} analyzers and reached only its own root, ` +
          `${stealer.reached.length} times; the CAP_SYS_PTRACE container reached ${tracer.reached.length} things of ` +
          `its own analyzers and forged its own answer ${tracerForged} times)`,
      );
    },
  );

  describe('stopped after each sandbox step (a test-only build with the step-hook feature)', function () {
    const scannerDir = join(h.repoRoot, 'scanner');
    const hookBinary = join(scannerDir, 'target', 'step-hook', 'debug', 'scan-containers');
    const analyzer = join(h.repoRoot, 'bin', 'analyzer');

    before(function () {
      // Cached beside the other builds: a no-op when nothing changed.
      execFileSync(
        'cargo',
        [
          'build',
          '--locked',
          '-p',
          'scan-containers',
          '--features',
          'step-hook',
          '--target-dir',
          join(scannerDir, 'target', 'step-hook'),
        ],
        {
          cwd: scannerDir,
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
    });

    it("is compiled out of `make build`'s scanner", function () {
      const marker = 'SANDBOX_STOP_AT_STEP';
      expect(readFileSync(hookBinary).includes(marker), 'the test build has the hook').to.equal(true);
      expect(readFileSync(h.scanContainers).includes(marker), 'the release build has no hook').to.equal(false);
    });

    it('leaves nothing of the child reachable from inside a root container, at any step', async function () {
      const probe = container('probe');
      const scanProbe = (step: string, onLine?: Parameters<typeof h.scan>[2]) =>
        h.scan(env, ['--container-ids', probe.id, '--analyzer', analyzer, '--timeout', '30'], onLine, {
          binary: hookBinary,
          extraEnv: { SANDBOX_STOP_AT_STEP: step },
        });
      // The build itself lists its steps when asked for one that does not exist.
      const listing = await scanProbe('?');
      expect(listing.code, listing.stderr).to.equal(0);
      const error = listing.report.containers.find((c) => c.id === `containerd://${probe.id}`)?.error ?? '';
      const steps = /steps: ([a-z,-]+)/.exec(error)?.[1]?.split(',') ?? [];
      expect(steps, error).to.include.members(['fds', 'setns', 'fork', 'seccomp', 'exec']);
      const child2From = steps.indexOf('fork');
      // fs.suid_dumpable 0 or 2: child 1 runs in the coordinator's memory (docs/security.md).
      const childOneSharesMemory = ['0', '2'].includes(readFileSync('/proc/sys/fs/suid_dumpable', 'utf8').trim());
      const debian = hostOsRelease();
      for (const [index, step] of steps.entries()) {
        if (step === 'exec') continue; // nothing runs after a successful exec but the analyzer
        let coordinator = 0;
        const done = scanProbe(step, (_line, child) => {
          coordinator ||= child.pid ?? 0;
        });
        let stopped: number | undefined;
        await h.waitFor(
          `the child to stop after ${step}`,
          () => (stopped = coordinator ? stoppedDescendant(coordinator) : undefined) !== undefined,
        );
        const pid = stopped!;
        // The host's view: only the keep-list (input, answer, stderr, analyzer; the workload's pidfd and root
        // until they are used), and every descriptor of the coordinator closes on exec.
        const fds = readdirSync(`/proc/${pid}/fd`)
          .map(Number)
          .sort((a, b) => a - b);
        const beforeClose = index < steps.indexOf('close-target');
        expect(fds, `${step}: the child's descriptors`).to.deep.equal(beforeClose ? [0, 1, 2, 3, 4, 5] : [0, 1, 2, 3]);
        for (const fd of readdirSync(`/proc/${coordinator}/fdinfo`)
          .map(Number)
          .filter((fd) => fd > 2)) {
          let flags: string;
          try {
            flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/${coordinator}/fdinfo/${fd}`, 'utf8'))?.[1] ?? '';
          } catch {
            continue; // closed meanwhile
          }
          expect(Number.parseInt(flags, 8) & 0o2000000, `${step}: coordinator fd ${fd} is close-on-exec`).to.not.equal(
            0,
          );
        }
        // Child 2 is a copy of the coordinator's memory, less what it never reads: the coordinator's heaps are
        // left out of it (sandbox::child_copy) when child 1 shares the coordinator's memory.
        if (index >= child2From && childOneSharesMemory) {
          expect(anonymousRegions(coordinator).flatMap((r) => r.names)).to.include('[heap]');
          expect(
            anonymousRegions(pid),
            `${step}: child 2's anonymous memory is child 1's stack alone (with its guard page)`,
          ).to.have.length(1);
        }
        // The container's view, from a process it runs (the runtime's exec, root, default capabilities).
        const look = await h.execInContainer(env, probe.id, ['/stealer', '--once']);
        expect(look.exitCode, look.stderr).to.equal(0);
        const seen = parseStealer(look.stdout);
        expect(seen.reached, `${step}: reached from inside the container`).to.deep.equal([]);
        if (index < child2From) {
          expect(seen.seen, `${step}: child 1 is outside the container's PID namespace`).to.deep.equal([]);
        } else {
          expect(
            seen.seen.map((s) => ({ state: s.state, uid: s.uid, capeff: s.capeff, capprm: s.capprm, nnp: s.nnp })),
            `${step}: child 2`,
          ).to.deep.equal([
            { state: 'T', uid: '0,0,0', capeff: '0000000000000000', capprm: '0000000000000000', nnp: '1' },
          ]);
        }
        process.kill(pid, 'SIGCONT');
        const run = await done;
        expect(run.code, run.stderr).to.equal(0);
        expect(run.tree, `${step}: the scan goes on to the real answer`).to.deep.equal({
          probe: { steps: { [`containerd://${probe.id}`]: debian } },
        });
      }
    });
  });
});
