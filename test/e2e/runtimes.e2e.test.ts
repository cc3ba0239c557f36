// End to end: runtime kinds, frameworks and servers detected in REAL containers, each running the real thing
// (language runtimes, JVM frameworks and servers, native servers from Debian's packages, GraalVM native
// executables; the list is docs/e2e-runtimes.md), scanned by the real bin/scan-containers.
// See docs/e2e-runtimes.md. Each image folder test/e2e/images/rt-*/ declares its containers and their expected
// entries in workloads.json (runtime-table.ts); expected values come from the artifacts themselves: each recipe
// (rt-*/build) records what its files say in $RT_FACTS_DIR/<image>.facts. RUNTIMES=node,python runs a subset.
// Needs root (hack/test-e2e runs it).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as h from './harness.js';
import { type Entry, fillEntry, fillRuntimes, loadWorkloads, type Runtimes, selectedImages } from './runtime-table.js';

/** This suite's own containerd state (unless E2E_STATE says otherwise), so it can run beside the main e2e suite. */
const stateDir = '/run/container-scanner-rt';
let factsDir = '';

/** The KEY=VALUE lines an image recipe recorded from its artifacts. */
function factsMap(image: string): Map<string, string> {
  const text = readFileSync(join(factsDir, `${image}.facts`), 'utf8');
  return new Map(
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** One image's facts by key; a missing key is a recipe bug. */
function facts(image: string): (key: string) => string {
  const map = factsMap(image);
  return (key) => {
    const v = map.get(key);
    if (!v) throw new Error(`${image}.facts has no ${key}`);
    return v;
  };
}

/** The non-root uid/gid an image's recipe prepared its files for (its `uid` and optional `gid` facts), if any. */
function runAs(image: string): { runAsUser: number; runAsGroup: number } | undefined {
  const map = factsMap(image);
  const uid = map.get('uid');
  return uid ? { runAsUser: Number(uid), runAsGroup: Number(map.get('gid') ?? uid) } : undefined;
}

/** The images this run builds (every image of the table, or those RUNTIMES names) and their containers. */
const images = selectedImages();
const workloads = loadWorkloads(images);
const selected = (name: string) => images.includes(name);
const image = (name: string) => `docker.io/library/${name}:latest`;

/** Progress on stderr: the before hook builds and starts many servers, so say where the time goes. */
function progress(message: string): void {
  process.stderr.write(`      [runtimes ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function restore(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'));
  return Number(line?.split(/\s+/)[2]);
}

describe('runtime and framework detection in real containers', function () {
  let env: Awaited<ReturnType<typeof h.up>>;
  let created: Awaited<ReturnType<typeof h.createPods>>;
  let run: Awaited<ReturnType<typeof h.scan>>;
  let marker: string;

  const find = (ns: string, pod: string, container: string) => {
    const p = created.find((x) => x.namespace === ns && x.name === pod);
    const c = p?.containers.find((x) => x.name === container);
    if (!p || !c) throw new Error(`no container ${ns}/${pod}/${container}`);
    return { pod: p, container: c };
  };
  /** The scanner's entry for a container (undefined if the tree lacks it). */
  const rawEntry = (ns: string, pod: string, container: string): Record<string, unknown> | undefined =>
    (run.tree as Record<string, Record<string, Record<string, Record<string, unknown>>>>)[ns]?.[pod]?.[
      `containerd://${find(ns, pod, container).container.id}`
    ];
  /** Every framework and server of a container, in order (the tree's `runtimes`). */
  const runtimesOf = (ns: string, pod: string, container: string): Runtimes | undefined =>
    rawEntry(ns, pod, container)?.runtimes as Runtimes | undefined;
  /**
   * A container's seven keys. Wherever a runtime-name is reported, the tree's `runtimes` list starts with exactly it
   * (checked here for every container of the suite); the list itself is compared where more than one is expected.
   */
  const entry = (ns: string, pod: string, container: string): Entry | undefined => {
    const raw = rawEntry(ns, pod, container);
    if (raw === undefined) return undefined;
    const { runtimes, ...keys } = raw as Entry & { runtimes?: Runtimes };
    const name = keys['runtime-name'];
    const version = keys['runtime-version'];
    expect(runtimes?.[0], `${ns}/${pod}/${container}: runtimes[0]`).to.deep.equal(
      name === undefined ? undefined : version === undefined ? { name } : { name, version },
    );
    return keys;
  };

  const saved = { state: process.env.E2E_STATE, facts: process.env.RT_FACTS_DIR };

  before(async function () {
    // Cold caches (Maven builds, downloads) and nine servers starting on a small machine.
    this.timeout(20 * 60 * 1000);
    // The harness reads these from process.env at each call; set only while this suite runs.
    process.env.E2E_STATE ??= stateDir;
    factsDir = mkdtempSync(join(tmpdir(), 'rt-facts-'));
    process.env.RT_FACTS_DIR = factsDir;
    env = await h.up();
    await h.buildImage(env, 'pause');
    for (const name of images) {
      const t = Date.now();
      await h.buildImage(env, name);
      progress(`built ${name} in ${Date.now() - t} ms`);
    }
    if (selected('rt-noexec')) {
      marker = facts('rt-noexec')('marker');
      rmSync(marker, { force: true }); // the host's copy: it must still be absent after the scan
    }
    const pods = new Map<string, { namespace: string; name: string; containers: h.ContainerSpec[] }>();
    for (const w of workloads) {
      const key = `${w.ns}/${w.pod}`;
      if (!pods.has(key)) pods.set(key, { namespace: w.ns, name: w.pod, containers: [] });
      const command = w.command ? [...w.command] : [];
      const env = w.env ? { env: w.env } : {};
      pods.get(key)?.containers.push({ name: w.container, image: image(w.image), command, ...env, ...runAs(w.image) });
    }
    created = await h.createPods(env, [...pods.values()]);
    // Every server must really be up (its own log line says so) before it is scanned.
    for (const w of workloads) {
      const ready = w.ready;
      if (!ready) continue;
      const { pod } = find(w.ns, w.pod, w.container);
      await h.waitFor(
        `${w.ns}/${w.pod} to log ${ready}`,
        () => ready.test(h.containerLog(env, pod, w.container)),
        180000,
        () => h.containerState(env, pod, w.container),
      );
      progress(`${w.ns}/${w.pod} is up`);
    }
    run = await h.scan(env, []);
    progress(`scanned in ${run.durationMs} ms`);
  });

  after(async function () {
    if (factsDir) rmSync(factsDir, { recursive: true, force: true });
    try {
      if (env) {
        await h.deleteAllPods(env).catch(() => undefined);
        await h.down();
      }
    } finally {
      restore('E2E_STATE', saved.state);
      restore('RT_FACTS_DIR', saved.facts);
    }
  });

  it('scans every container and fails none', function () {
    expect(run.code, run.stderr).to.equal(0);
    // Only this suite's containers: a scan sees every kubelet-style container on the node, and another suite may
    // be running beside this one.
    for (const w of workloads) {
      const { container } = find(w.ns, w.pod, w.container);
      const scanned = run.report.containers.find((c) => c.id === `containerd://${container.id}`);
      expect(scanned?.status, `${w.ns}/${w.pod}/${w.container}: ${scanned?.error ?? 'not in the report'}`).to.equal(
        'scanned',
      );
      expect(entry(w.ns, w.pod, w.container), `${w.ns}/${w.pod}/${w.container} in the tree`).to.be.an('object');
    }
  });

  // What the analyzer costs on real runtimes (100 MB native images, jar-heavy JVM servers, .NET's assemblies):
  // memory stays small because every reader works in bounded windows. The table is what docs/benchmarks.md
  // quotes; only the memory bound is asserted (times vary with the machine).
  it('each analyzer stays under 64 MiB of memory on every real runtime, and says what it cost', function () {
    const rows = workloads.map((w) => {
      const id = `containerd://${find(w.ns, w.pod, w.container).container.id}`;
      const c = run.report.containers.find((x) => x.id === id);
      return {
        container: `${w.ns}/${w.pod}/${w.container}`,
        image: w.image,
        wallMs: c?.durationMs,
        cpuMs: c?.analyzerCpuMs,
        maxRssKb: c?.analyzerMaxRssKb,
      };
    });
    progress(
      'analyzer cost per container:\n' +
        rows
          .map(
            (r) =>
              `        ${r.container.padEnd(28)} ${r.image.padEnd(18)} wall ${r.wallMs} ms, cpu ${r.cpuMs} ms, peak ` +
              `${r.maxRssKb} KiB`,
          )
          .join('\n'),
    );
    for (const r of rows) {
      expect(r.maxRssKb, r.container)
        .to.be.a('number')
        .and.be.at.most(64 * 1024);
    }
  });

  it('the servers whose recipes prepared a non-root uid really run as it', function () {
    const nonRoot = workloads.filter((w) => runAs(w.image));
    // These recipes must keep preparing a non-root uid (a change that dropped it would pass silently).
    const mustBeNonRoot = [
      'rt-postgres',
      'rt-tomcat',
      'rt-kafka',
      'rt-wildfly',
      'rt-graal-native',
      'rt-quarkus-native',
    ].filter(selected);
    expect(nonRoot.map((w) => w.image)).to.include.members(mustBeNonRoot);
    for (const w of nonRoot) {
      expect(uidOf(find(w.ns, w.pod, w.container).container.pid), w.image).to.equal(runAs(w.image)?.runAsUser);
    }
  });

  // One test per container of the table: its seven keys exactly, and its runtimes list where one is declared.
  describe('what the scanner reports for each container (test/e2e/images/rt-*/workloads.json)', function () {
    for (const w of workloads.filter((x) => x.expect)) {
      it(`${w.title} [${w.ns}/${w.pod}/${w.container}]`, function () {
        const fact = facts(w.image);
        expect(entry(w.ns, w.pod, w.container)).to.deep.equal(fillEntry(w.expect!, fact));
        if (w.runtimes) {
          expect(runtimesOf(w.ns, w.pod, w.container), 'runtimes').to.deep.equal(fillRuntimes(w.runtimes, fact));
        }
      });
    }
  });

  it('the Express, Flask, Ruby, PHP and .NET servers really answer HTTP', async function () {
    const servers = (
      [
        ['node', 'express'],
        ['python', 'flask'],
        ['ruby', 'server'],
        ['php', 'server'],
        ['dotnet', 'server'],
      ] as const
    ).filter(([pod]) => selected(`rt-${pod}`));
    if (servers.length === 0) this.skip();
    for (const [pod, container] of servers) {
      const body = `rt-${pod}\n`;
      const p = find('web', pod, container).pod;
      const port = /listening on (\d+)/.exec(h.containerLog(env, p, container))?.[1];
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(await res.text(), pod).to.equal(body);
    }
  });

  it('Node.js 24 names its process MainThread: the name proves nothing (its entry comes from the bytes)', function () {
    if (!selected('rt-node')) this.skip();
    const { container } = find('web', 'node24', 'express');
    expect(readFileSync(`/proc/${container.pid}/comm`, 'utf8').trim()).to.equal('MainThread');
  });

  /** The distinct paths (as the container sees them) of the files named `name` that a process has mapped. */
  const mappedAs = (pid: number, name: string): string[] => [
    ...new Set(
      readFileSync(`/proc/${pid}/maps`, 'utf8')
        .split('\n')
        .map((l) => l.split(/\s+/)[5] ?? '')
        .filter((p) => p.endsWith(`/${name}`)),
    ),
  ];

  it('.NET: the three layouts really map the runtime where the entries say they found it', function () {
    if (!selected('rt-dotnet')) this.skip();
    const f = facts('rt-dotnet');
    const mapped = (pod: string, container: string) =>
      mappedAs(find(pod === 'dotnet' ? 'web' : 'dotnet', pod, container).container.pid, 'libcoreclr.so');
    expect(mapped('dotnet', 'server')).to.deep.equal([
      `/usr/share/dotnet/shared/Microsoft.NETCore.App/${f('dotnet_version')}/libcoreclr.so`,
    ]);
    expect(mapped('opt-root', 'app')).to.deep.equal([
      `/opt/dotnet/shared/Microsoft.NETCore.App/${f('dotnet_version')}/libcoreclr.so`,
    ]);
    // Self-contained: no Microsoft.NETCore.App/<version> folder in the path, so the version must come from the bytes.
    expect(mapped('self-contained', 'app')).to.deep.equal(['/selfcontained/libcoreclr.so']);
  });

  it("etcd's main module is etcd's own (the name the entry reports comes from it)", function () {
    if (!selected('rt-etcd')) this.skip();
    expect(facts('rt-etcd')('go_module')).to.match(/^go\.etcd\.io\/etcd\//);
  });

  it('Go before 1.18: esbuild built by go1.17 (pre-1.18 build info layout) really serves files', async function () {
    if (!selected('rt-go117')) this.skip();
    const f = facts('rt-go117');
    expect(f('go_version')).to.match(/^go1\.1[0-7]\./);
    let body = '';
    await h.waitFor(
      'esbuild to answer HTTP',
      async () => {
        body = await fetch(`http://127.0.0.1:${f('port')}/`).then(
          (r) => r.text(),
          () => '',
        );
        return body !== '';
      },
      30000,
    );
    expect(body).to.equal('rt-go117\n');
  });

  it('Spring Boot: the two jars really use the two launcher generations (3.5 and 2.7)', function () {
    if (!selected('rt-spring-boot')) this.skip();
    const f = facts('rt-spring-boot');
    expect(f('launcher')).to.equal('org.springframework.boot.loader.launch.JarLauncher');
    expect(f('launcher_2_7')).to.equal('org.springframework.boot.loader.JarLauncher');
  });

  it('GraalVM native images: three generations of vendor strings, each native image scanned as pid 1', function () {
    if (!selected('rt-graal-native')) this.skip();
    const f = facts('rt-graal-native');
    const runs = [
      ['pkl', '0.30.2'],
      ['pkl-oracle', '0.28.2'],
      ['pkl-graal22', '0.25.1-2'],
    ] as const;
    // "GraalVM CE 25+37.1", "Oracle GraalVM 21.0.5+9.1", "GraalVM 22.3.1 Java 11 CE".
    expect(new Set(runs.map(([, v]) => f(`graal_vendor_version:${v}`))).size).to.equal(runs.length);
    for (const [pod, version] of runs) {
      const { container } = find('native', pod, 'repl');
      // The native image itself is the process scanned (start execs it), not the shell that set up its stdin.
      expect(readlinkSync(`/proc/${container.pid}/exe`), pod).to.equal(f(`exe:${version}`));
    }
  });

  it('Quarkus native: a real Quarkus REST service compiled by Mandrel, as pid 1', function () {
    if (!selected('rt-quarkus-native')) this.skip();
    const f = facts('rt-quarkus-native');
    const { pod } = find('native', 'quarkus', 'app');
    // The version the running app logs ("... native (powered by Quarkus 2.16.10.Final) started in ...").
    const logged = /native \(powered by Quarkus ([^)]+)\) started/.exec(h.containerLog(env, pod, 'app'))?.[1];
    expect(logged).to.be.a('string');
    const expected: Entry = {
      'os-release-id': f('os_id'),
      'os-release-version-id': f('os_version_id'),
      'runtime-kind': 'GraalVM',
      'runtime-kind-version': f('graal_java_version'),
      'runtime-kind-implementer': f('graal_vendor_version'),
      'runtime-name': 'Quarkus',
    };
    // Only Quarkus >= 3.15 bakes its version into the image (__quarkus_analytics__quarkus.version=); an older one
    // is named without a version rather than with a guess.
    if (f('quarkus_version_string') === 'yes') expected['runtime-version'] = logged!;
    else expect(logged).to.match(/^(2\.|3\.([0-9]|1[0-4])\.)/);
    expect(entry('native', 'quarkus', 'app')).to.deep.equal(expected);
  });

  describe('nothing from the container is executed', function () {
    beforeEach(function () {
      if (!selected('rt-noexec')) this.skip();
    });
    it('a planted `node` on PATH that looks like the workload is neither run nor taken for Node.js', function () {
      const { container } = find('untrusted', 'fake-node', 'app');
      const inContainer = `/proc/${container.pid}/root${marker}`;
      expect(
        existsSync(inContainer),
        `marker in the container: ${existsSync(inContainer) ? readFileSync(inContainer, 'utf8') : ''}`,
      ).to.equal(false);
      expect(existsSync(marker), 'marker on the host').to.equal(false);
      // Not Node.js (the bytes of the planted program carry no Node release string): its table entry checks that.
    });

    it('(control) the planted program does leave its marker when something runs it', function () {
      const { container } = find('untrusted', 'fake-node', 'app');
      try {
        const out = execFileSync(`/proc/${container.pid}/root/usr/local/bin/node`, ['--version']).toString();
        expect(out.trim()).to.equal('v99.0.0');
        expect(readFileSync(marker, 'utf8')).to.contain('--version');
      } finally {
        rmSync(marker, { force: true });
      }
    });
  });
});
