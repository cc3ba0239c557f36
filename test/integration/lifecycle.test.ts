/**
 * A ContainerScan's whole life against a real API server (and kube-controller-manager when the control plane has
 * it): the controller runs in-process under its own ServiceAccount and RBAC from config/, the test plays the
 * reporters of three nodes (one good, one writing garbage, one silent) under the reporter's ServiceAccount.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { V1ConfigMap, V1Node } from '@kubernetes/client-node';
import { GROUP, RESULTS, SCANS, VERSION, type ContainerScan, type ScanResult } from '../../controller/api/resources.js';
import { loadTemplate } from '../../controller/reconcile/daemonset.js';
import { makeClients, mergePatch, statusCode, type Clients } from '../../controller/kube/clients.js';
import { Manager } from '../../controller/manager/manager.js';
import { Metrics } from '../../controller/manager/metrics.js';
import { Reconciler } from '../../controller/reconcile/reconciler.js';
import { DEFAULT_MAX_SHARD_BYTES, readPublication, shardTree } from '../../controller/publish/publish.js';
import { TreeMerger } from '../../controller/reconcile/merge.js';
import { DEFAULT_MAX_SCAN_BYTES, validateScan, validateTree } from '../../controller/reporter/validate-scan.js';
import { gathererShape, goRead, schemaViolations } from './published.js';
import { writeNodeStatus } from '../../controller/reporter/write-status.js';
import { EventRecorder } from '../../controller/reconcile/events.js';
import { startRun, step } from '../../controller/reconcile/runstate.js';
import {
  FAKE_NODE_TOLERATIONS,
  adminKubeConfig,
  apply,
  ensureCrds,
  getTable,
  sample,
  serviceAccountClients,
  uniqueName,
  waitFor,
  installRbac,
  removeInstall,
} from './helpers.js';

const ID_JAVA = 'containerd://' + '1f'.repeat(32);
const ID_GO = 'containerd://' + '2e'.repeat(32);

describe('ContainerScan lifecycle (real API server)', function () {
  this.timeout(180_000);
  const kc = adminKubeConfig();
  const admin = makeClients(kc);
  const ns = uniqueName('cs-it');
  const tag = ns; // node label value that only this test's nodes carry
  const nodes = {
    good: `${ns}-good`,
    garbage: `${ns}-garbage`,
    silent: `${ns}-silent`,
    tainted: `${ns}-tainted`,
    other: `${ns}-other`,
  };
  let controllerClients: Clients;
  let reporterClients: Clients;
  let manager: Manager | undefined;
  let metrics: Metrics;
  const rbac = () => installRbac(ns);

  const startController = async () => {
    metrics = new Metrics({ processMetrics: false });
    const reconciler = new Reconciler({
      clients: controllerClients,
      namespace: ns,
      template: loadTemplate(),
      images: {
        scanner: 'localhost/container-scanner/scanner:test',
        reporter: 'localhost/container-scanner/controller:test',
      },
      reporterServiceAccount: 'container-scanner-reporter',
      metrics,
      identity: 'integration-test',
    });
    manager = new Manager({ clients: controllerClients, namespace: ns, reconciler, metrics });
    await manager.start();
  };
  const stopController = async () => {
    await manager?.stop();
    manager = undefined;
  };
  const getScan = (name: string) =>
    admin.custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: SCANS,
      name,
    }) as Promise<ContainerScan>;
  const createScan = (name: string, spec: ContainerScan['spec']) =>
    admin.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: SCANS,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ContainerScan', metadata: { name, namespace: ns }, spec },
    });
  const waitPhase = (name: string, phase: string, run?: string, timeout = 60_000) =>
    waitFor(
      `${name} phase ${phase}${run ? ` in run ${run}` : ''}`,
      async () => {
        const s = await getScan(name);
        return s.status?.phase === phase && (!run || s.status.run === run) ? s : undefined;
      },
      timeout,
    );
  const events = async (name: string) =>
    (
      await admin.core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: `involvedObject.name=${name},involvedObject.kind=ContainerScan`,
      })
    ).items;
  /**
   * The reasons of a scan's Events once `last` is among them: a run's closing Events are recorded just after its
   * final status, so a test that saw the status waits for them rather than reading them at once.
   */
  const reasonsOnce = (name: string, last: string) =>
    waitFor(`the ${last} Event of ${name}`, async () => {
      const reasons = (await events(name)).map((e) => e.reason);
      return reasons.includes(last) && reasons;
    });
  const writeFiles = (scan: unknown, rep: unknown) => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-report-'));
    if (scan !== undefined)
      writeFileSync(join(dir, 'scan.json'), typeof scan === 'string' ? scan : JSON.stringify(scan));
    if (rep !== undefined) writeFileSync(join(dir, 'report.json'), JSON.stringify(rep));
    return { scanPath: join(dir, 'scan.json'), reportPath: join(dir, 'report.json') };
  };
  const goodScan = {
    shop: {
      'cart-5b7c9': {
        [ID_JAVA]: {
          'os-release-id': 'rhel',
          'os-release-version-id': '8.8',
          'runtime-kind': 'Java',
          'runtime-kind-version': '17.0.7',
          'runtime-kind-implementer': 'Red Hat, Inc.',
          'runtime-name': 'Quarkus',
          'runtime-version': '2.13.8.Final-redhat-00004',
        },
      },
    },
    tools: {
      'gw-1': { [ID_GO]: { 'runtime-kind': 'Golang', 'runtime-kind-version': 'go1.20.12 X:strictfipsruntime' } },
    },
  };
  const goodReport = (node: string) => ({
    version: 1,
    node,
    startedAt: new Date().toISOString(),
    durationMs: 840,
    containersFound: 2,
    containersScanned: 2,
    containersFailed: 0,
    containers: [
      { namespace: 'shop', pod: 'cart-5b7c9', id: ID_JAVA, status: 'scanned', durationMs: 400 },
      { namespace: 'tools', pod: 'gw-1', id: ID_GO, status: 'scanned', durationMs: 300 },
    ],
  });
  const playReporter = (
    node: string,
    run: string,
    files: { scanPath: string; reportPath: string },
    c = reporterClients,
  ) => writeNodeStatus(c, { ...files, node, namespace: ns, run, retryForMs: 5000 });

  before(async () => {
    await ensureCrds(kc);
    await apply(kc, rbac());
    controllerClients = await serviceAccountClients(admin, ns, 'container-scanner-controller');
    reporterClients = await serviceAccountClients(admin, ns, 'container-scanner-reporter');
    const node = (name: string, labels: Record<string, string>, taints: V1Node['spec'] = {}): V1Node => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels },
      spec: taints,
    });
    for (const n of [
      node(nodes.good, { 'it-run': tag }),
      node(nodes.garbage, { 'it-run': tag }),
      node(nodes.silent, { 'it-run': tag }),
      node(nodes.tainted, { 'it-run': tag }, { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }),
      node(nodes.other, { 'it-run': 'someone-else' }),
    ])
      await admin.core.createNode({ body: n });
    // A leftover of a crashed run, which the controller must sweep on start-up.
    await admin.apps.createNamespacedDaemonSet({
      namespace: ns,
      body: {
        metadata: {
          name: 'life-99-scanner',
          labels: {
            'containerscanner.io/scan': 'life',
            'containerscanner.io/run': 'life-99',
            'containerscanner.io/component': 'scanner',
          },
        },
        spec: {
          selector: { matchLabels: { x: 'leftover' } },
          template: {
            metadata: { labels: { x: 'leftover' } },
            spec: { nodeSelector: { 'it-run': 'nowhere' }, containers: [{ name: 'c', image: 'localhost/none' }] },
          },
        },
      },
    });
    // Results of a ContainerScan that no longer exists (garbage collection late or off).
    const ghost = {
      'containerscanner.io/scan': 'ghost',
      'containerscanner.io/run': 'ghost-4',
      'containerscanner.io/component': 'result',
    };
    await admin.core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'ghost-4-result', labels: ghost }, data: { 'index.json': '{}' } },
    });
    await admin.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: RESULTS,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'ScanResult',
        metadata: { name: 'ghost-4-n1', labels: ghost },
        spec: { scan: 'ghost', run: 'ghost-4', node: 'n1' },
      },
    });
    await startController();
  });

  after(async () => {
    await stopController();
    for (const n of Object.values(nodes)) await admin.core.deleteNode({ name: n }).catch(() => undefined);
    await removeInstall(admin, ns);
  });

  it('sweeps leftovers on start-up: a scanner DaemonSet, results of a deleted scan', async () => {
    await waitFor('leftover DaemonSet gone', async () => {
      try {
        const ds = await admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'life-99-scanner' });
        return !!ds.metadata?.deletionTimestamp;
      } catch (e) {
        return statusCode(e) === 404;
      }
    });
    await admin.core.readNamespacedConfigMap({ namespace: ns, name: 'ghost-4-result' }).then(
      () => expect.fail('orphan ConfigMap kept'),
      (e) => expect(statusCode(e)).to.equal(404),
    );
    await admin.custom
      .getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: RESULTS, name: 'ghost-4-n1' })
      .then(
        () => expect.fail('orphan ScanResult kept'),
        (e) => expect(statusCode(e)).to.equal(404),
      );
  });

  let run1: ContainerScan;
  it('starts a run: targeted nodes, one ScanResult each, the scanner DaemonSet', async () => {
    await createScan('life', {
      nodeSelector: { 'it-run': tag },
      tolerations: FAKE_NODE_TOLERATIONS,
      readinessTimeout: '8s',
      scanTimeout: '30s',
      teardownTimeout: '20s',
      historyLimit: 1,
    });
    run1 = await waitPhase('life', 'Running');
    expect(run1.status).to.include({ run: 'life-1', runNumber: 1, nodesDesired: 3 });
    expect(run1.status!.nodes!.map((n) => n.name)).to.deep.equal([nodes.garbage, nodes.good, nodes.silent].sort());

    const ds = await waitFor('DaemonSet', () =>
      admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'life-1-scanner' }),
    );
    expect(ds.metadata!.ownerReferences![0]).to.include({ kind: 'ContainerScan', name: 'life', controller: true });
    const pod = ds.spec!.template.spec!;
    expect(pod.nodeSelector).to.deep.equal({ 'it-run': tag });
    expect(pod.tolerations).to.deep.equal(FAKE_NODE_TOLERATIONS);
    expect(pod.hostPID).to.equal(true);
    expect(pod.initContainers![0]).to.deep.include({
      name: 'scanner',
      image: 'localhost/container-scanner/scanner:test',
    });
    expect(pod.containers[0]!.env!.find((e) => e.name === 'RUN')!.value).to.equal('life-1');

    const results = await waitFor('3 ScanResults', async () => {
      const l = (await admin.custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: RESULTS,
      })) as { items: ScanResult[] };
      return l.items.length === 3 ? l.items : undefined;
    });
    expect(results.map((r) => r.spec.node).sort()).to.deep.equal([nodes.garbage, nodes.good, nodes.silent].sort());
    expect(results.every((r) => r.spec.run === 'life-1' && r.spec.scan === 'life')).to.equal(true);
    // The controller recorded the UID of each ScanResult it made; only those are ever merged.
    const recorded = (await getScan('life')).status!.nodes!.map((n) => n.scanResultUID).sort();
    expect(recorded).to.deep.equal(results.map((r) => r.metadata.uid).sort());
    // `kubectl get scanresults` shows the scan, the run and a phase for the nodes that have not reported yet.
    const t = await waitFor('Pending phases', async () => {
      const table = await getTable(kc, `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${RESULTS}`);
      return table.rows.length === 3 && table.rows.every((r) => r[4] === 'Pending') ? table : undefined;
    });
    expect(t.rows.map((r) => r.slice(1, 5)).sort()).to.deep.equal(
      [nodes.garbage, nodes.good, nodes.silent].sort().map((n) => ['life', 'life-1', n, 'Pending']),
    );
  });

  it("lets the reporter write its run's ScanResult status and nothing else", async () => {
    await waitFor('reporter Role', () => admin.rbac.readNamespacedRole({ namespace: ns, name: 'life-1-reporter' }));
    const forbidden = async (what: string, p: Promise<unknown>) => {
      try {
        await p;
        expect.fail(`the reporter could ${what}`);
      } catch (e) {
        expect(statusCode(e), what).to.equal(403);
      }
    };
    await forbidden('read ConfigMaps', reporterClients.core.listNamespacedConfigMap({ namespace: ns }));
    await forbidden(
      'change a ContainerScan',
      reporterClients.custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: SCANS,
          name: 'life',
          body: { status: { phase: 'Completed' } },
        },
        mergePatch,
      ),
    );
    await forbidden(
      'change a ScanResult spec',
      reporterClients.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: RESULTS,
          name: `life-1-${nodes.good}`,
          body: { spec: { node: 'x' } },
        },
        mergePatch,
      ),
    );
    await forbidden(
      'create ScanResults',
      reporterClients.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: RESULTS,
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'ScanResult',
          metadata: { name: 'forged' },
          spec: { scan: 'life', run: 'life-1', node: 'x' },
        },
      }),
    );
  });

  it('records good, garbage and missing reports; publishes the hashed result; tears down', async () => {
    const good = await playReporter(nodes.good, 'life-1', writeFiles(goodScan, goodReport(nodes.good)));
    expect(good.phase).to.equal('Reported');
    const garbage = await playReporter(nodes.garbage, 'life-1', writeFiles('{"shop": {"p": [1, 2', undefined));
    expect(garbage.phase).to.equal('Failed');

    const done = await waitPhase('life', 'Completed', 'life-1', 90_000);
    const st = done.status!;
    expect(st).to.include({
      nodesDesired: 3,
      nodesReported: 1,
      nodesFailed: 2,
      containersScanned: 2,
      containersDetected: 2,
    });
    const byName = Object.fromEntries(st.nodes!.map((n) => [n.name, n]));
    expect(byName[nodes.good]!.phase).to.equal('Reported');
    expect(byName[nodes.garbage]).to.include({ phase: 'Failed', reason: 'NodeFailed' });
    expect(byName[nodes.silent]).to.include({ phase: 'Failed', reason: 'NodeNotReady' });
    const errorOf = (node: string) =>
      st.errors!.find((e) => e.startsWith(`node ${node}: `))?.slice(`node ${node}: `.length);
    expect(errorOf(nodes.garbage)).to.match(/^scan.json is not valid JSON/);
    // Its pod exists (kube-controller-manager's DaemonSet controller made it) but nothing schedules or runs it.
    expect(errorOf(nodes.silent)).to.match(
      /^scanner pod not ready within 8s: (scanner pod not scheduled|no scanner pod was created for the node)/,
    );
    expect(st.errors).to.have.length(2);
    expect(st.failureCounts).to.deep.equal([
      { reason: 'NodeFailed', count: 1 },
      { reason: 'NodeNotReady', count: 1 },
    ]);
    // The controller's verdict on the silent node is in its ScanResult too, where each node's details live.
    const silentResult = (await admin.custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: RESULTS,
      name: `life-1-${nodes.silent}`,
    })) as ScanResult;
    expect(silentResult.status).to.include({ phase: 'Failed', error: errorOf(nodes.silent) });
    const cond = Object.fromEntries(st.conditions!.map((c) => [c.type, c]));
    expect(cond.Complete!.status).to.equal('True');
    expect(cond.Degraded!.status).to.equal('True');
    expect(cond.Scanning!.status).to.equal('False');
    expect(st.result).to.deep.equal({ run: 'life-1', configMap: 'life-1-result', shards: 1, containers: 2 });
    // Two reports arrived (good and garbage) between the start and the end of the run; the silent node is a
    // failure, not a report. The run is timed once, as long as its status says.
    const exposition = await waitFor('run life-1 in the metrics', async () => {
      const text = await metrics.render();
      return sample(text, 'containerscan_run_duration_seconds_count{phase="Completed"}') === 1 && text;
    });
    const runSeconds = (Date.parse(st.completionTime!) - Date.parse(st.startTime!)) / 1000;
    expect(sample(exposition, 'containerscan_node_report_seconds_count{phase="Reported"}')).to.equal(1);
    expect(sample(exposition, 'containerscan_node_report_seconds_count{phase="Failed"}')).to.equal(1);
    expect(sample(exposition, 'containerscan_node_report_seconds_sum{phase="Failed"}')).to.be.within(0, runSeconds);
    expect(sample(exposition, 'containerscan_run_duration_seconds_sum{phase="Completed"}')).to.be.closeTo(
      runSeconds,
      1e-6,
    );
    expect(sample(exposition, 'containerscan_nodes_failed_total{reason="NodeNotReady"}')).to.equal(1);

    // The published result, read as the gatherer would: clear keys, values hashed exactly as the vectors say.
    const index = await admin.core.readNamespacedConfigMap({ namespace: ns, name: 'life-1-result' });
    const shards: V1ConfigMap[] = [];
    for (const s of (JSON.parse(index.data!['index.json']!) as { shards: { name: string }[] }).shards)
      shards.push(await admin.core.readNamespacedConfigMap({ namespace: ns, name: s.name }));
    const pub = readPublication(index, shards);
    expect(pub.tree).to.deep.equal({
      shop: {
        'cart-5b7c9': {
          [ID_JAVA]: {
            os: 'yqx1WBefoIAq',
            osVersion: 'AQN-qh_OyRUA',
            kind: 'wbpgzhNYZQOi',
            kindVersion: 'cAsoUDy8JFNV',
            kindImplementer: 'DzP5-GS6tDOQ',
            name: 'zBVuVhrrC_vC',
            version: 'lyAE7Oh63WPU',
            runtimes: [{ name: 'zBVuVhrrC_vC', version: 'lyAE7Oh63WPU' }],
          },
        },
      },
      tools: { 'gw-1': { [ID_GO]: { kind: 'UOVueXxKyJ95', kindVersion: 'TLKodAH_YUTX' } } },
    });
    expect(pub.index).to.deep.include({
      scan: 'life',
      run: 'life-1',
      containers: 2,
      nodes: { targeted: 3, reported: 1, failed: 2 },
    });
    expect(pub.index.errors).to.deep.equal(st.errors);
    expect(schemaViolations(index, shards)).to.deep.equal([]);

    // The stable address: life-latest holds the same index (written last, when the run completed).
    const latest = await admin.core.readNamespacedConfigMap({ namespace: ns, name: 'life-latest' });
    expect(schemaViolations(latest, [])).to.deep.equal([]);
    expect(readPublication(latest, shards)).to.deep.equal(pub);
    // The Go reader finds it by the scan's name and returns the gatherer's shape with the run's errors.
    const go = goRead(ns, 'life');
    expect(go).to.deep.include({ scan: 'life', run: 'life-1', completedAt: pub.index.completedAt, errors: st.errors });
    expect(go.containers).to.deep.equal(gathererShape(pub.tree));

    // Events tell the story on the ContainerScan.
    const reasons = await reasonsOnce('life', 'Completed');
    for (const r of ['RunStarted', 'DaemonSetCreated', 'NodeFailed', 'NodeNotReady', 'Published', 'Completed'])
      expect(reasons, r).to.include(r);

    // Teardown: no DaemonSet, no scanner pods, no reporter RBAC left.
    await waitFor('DaemonSet gone', () =>
      admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'life-1-scanner' }).then(
        () => false,
        (e) => statusCode(e) === 404,
      ),
    );
    expect(
      (await admin.core.listNamespacedPod({ namespace: ns, labelSelector: 'containerscanner.io/run=life-1' })).items,
    ).to.have.length(0);
    await admin.rbac.readNamespacedRole({ namespace: ns, name: 'life-1-reporter' }).then(
      () => expect.fail('reporter Role left behind'),
      (e) => expect(statusCode(e)).to.equal(404),
    );
  });

  it('shows ScanResults at a glance (kubectl get scanresults columns)', async () => {
    const t = await getTable(kc, `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${RESULTS}`);
    expect(t.columns).to.deep.equal([
      'Name',
      'Scan',
      'Run',
      'Node',
      'Phase',
      'Containers',
      'Detected',
      'Duration',
      'Error',
      'Age',
    ]);
    const row = t.rows.find((r) => r[3] === nodes.good)!;
    expect(row.slice(1, 8)).to.deep.equal(['life', 'life-1', nodes.good, 'Reported', 2, 2, '840ms']);
    expect(t.rows.find((r) => r[3] === nodes.garbage)![4]).to.equal('Failed');
    expect(t.rows.find((r) => r[3] === nodes.silent)![4]).to.equal('Failed');
  });

  it('runs again on a spec change, resumes after a controller restart, and prunes the older run', async () => {
    const patch = {
      spec: {
        nodeSelector: { 'it-run': tag },
        tolerations: FAKE_NODE_TOLERATIONS,
        readinessTimeout: '60s',
        scanTimeout: '60s',
        teardownTimeout: '20s',
        historyLimit: 1,
        concurrency: 2,
      },
    };
    await admin.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: ns, plural: SCANS, name: 'life', body: patch },
      mergePatch,
    );
    await waitPhase('life', 'Running', 'life-2');
    await waitFor('DaemonSet of run 2', () =>
      admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'life-2-scanner' }),
    );

    // The controller goes away mid-run; its successor must finish this run, not start another.
    await stopController();
    // Each node runs its own copy of the two workloads (its own container ids).
    for (const [i, n] of [nodes.good, nodes.garbage, nodes.silent].entries()) {
      const ids = [ID_JAVA, ID_GO].map((id) => id.slice(0, -2) + String(i).padStart(2, '0'));
      const tree = {
        shop: { [`cart-${i}`]: { [ids[0]!]: goodScan.shop['cart-5b7c9'][ID_JAVA] } },
        tools: { [`gw-${i}`]: { [ids[1]!]: goodScan.tools['gw-1'][ID_GO] } },
      };
      await playReporter(n, 'life-2', writeFiles(tree, { ...goodReport(n), containers: [] }));
    }
    // A reporter of run 2 cannot touch run 1's results.
    await reporterClients.custom
      .patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: RESULTS,
          name: `life-1-${nodes.good}`,
          body: { status: { phase: 'Failed' } },
        },
        mergePatch,
      )
      .then(
        () => expect.fail('reporter wrote a ScanResult of another run'),
        (e) => expect(statusCode(e)).to.equal(403),
      );
    await startController();

    const done = await waitPhase('life', 'Completed', 'life-2', 60_000);
    expect(done.status).to.include({ runNumber: 2, nodesReported: 3, nodesFailed: 0 });
    expect(done.status!.errors).to.deep.equal([]);
    expect(done.status!.conditions!.find((c) => c.type === 'Degraded')!.status).to.equal('False');
    expect(done.status!.result).to.deep.include({ run: 'life-2', containers: 6 });
    const dsList = await admin.apps.listNamespacedDaemonSet({
      namespace: ns,
      labelSelector: 'containerscanner.io/scan=life',
    });
    expect(dsList.items.filter((d) => !d.metadata?.deletionTimestamp)).to.have.length(0);
    const evs = await events('life');
    expect(evs.filter((e) => e.reason === 'RunStarted')).to.have.length(2);
    // The restarted controller adopted run 2's DaemonSet instead of making a second one.
    expect(
      evs
        .filter((e) => e.reason === 'DaemonSetCreated' && e.message === 'created DaemonSet life-2-scanner')
        .map((e) => e.count),
    ).to.deep.equal([1]);

    // historyLimit 1: run 1's result and ScanResults are gone, run 2's remain.
    await waitFor('run 1 pruned', async () => {
      const cms = await admin.core.listNamespacedConfigMap({
        namespace: ns,
        labelSelector: 'containerscanner.io/scan=life',
      });
      return (
        cms.items.every((c) => c.metadata!.labels!['containerscanner.io/run'] === 'life-2') && cms.items.length === 3
      );
    });
    // The stable address moved to run 2 (index, shard and pointer are run 2's three ConfigMaps).
    expect(goRead(ns, 'life')).to.deep.include({ run: 'life-2', errors: [] });
    const srs = (await admin.custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: RESULTS,
    })) as { items: ScanResult[] };
    expect(srs.items.map((r) => r.spec.run)).to.deep.equal(['life-2', 'life-2', 'life-2']);
  });

  it('prunes by force and reports the error when the DaemonSet does not go within the teardown timeout', async () => {
    await createScan('stuck', {
      nodeSelector: { 'it-run': tag },
      tolerations: FAKE_NODE_TOLERATIONS,
      readinessTimeout: '60s',
      scanTimeout: '60s',
      teardownTimeout: '3s',
    });
    await waitPhase('stuck', 'Running', 'stuck-1');
    // A finalizer that nobody removes holds the DaemonSet after its deletion.
    await waitFor('DaemonSet', () => admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'stuck-1-scanner' }));
    await admin.apps.patchNamespacedDaemonSet(
      { namespace: ns, name: 'stuck-1-scanner', body: { metadata: { finalizers: ['containerscanner.io/test-hold'] } } },
      mergePatch,
    );
    for (const n of [nodes.good, nodes.garbage, nodes.silent])
      await playReporter(n, 'stuck-1', writeFiles(goodScan, goodReport(n)));
    const done = await waitPhase('stuck', 'Completed', 'stuck-1', 60_000);
    expect(done.status!.errors).to.deep.equal([
      'scanner DaemonSet not deleted within the teardown timeout of 3s; its leftovers were pruned',
    ]);
    await reasonsOnce('stuck', 'TeardownTimedOut'); // fails when that Event never comes
    // The teardown failure came after publishing; the reader still gets it, for gathers.json.
    expect(goRead(ns, 'stuck').errors).to.deep.equal(done.status!.errors);
    await waitFor('stuck DaemonSet gone', () =>
      admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'stuck-1-scanner' }).then(
        () => false,
        (e) => statusCode(e) === 404,
      ),
    );
    // Its pods went with it, without grace (the controller names them from a metadata list).
    const left = await admin.core.listNamespacedPod({
      namespace: ns,
      labelSelector: 'containerscanner.io/run=stuck-1',
    });
    expect(left.items.map((p) => p.metadata!.name)).to.deep.equal([]);
  });

  it('gives a node whose scanner pod is ready until the scan timeout, then records it', async () => {
    // A node of its own, made now: kube-controller-manager marks pods of long-silent nodes not ready.
    const slow = `${ns}-slow`;
    await admin.core.createNode({
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: slow, labels: { 'it-slow': tag } } },
    });
    try {
      await createScan('slow', {
        nodeSelector: { 'it-slow': tag },
        tolerations: FAKE_NODE_TOLERATIONS,
        readinessTimeout: '4s',
        scanTimeout: '10s',
        teardownTimeout: '3s',
      });
      await waitPhase('slow', 'Running', 'slow-1');
      // Play kubelet and scheduler: bind the DaemonSet's pod to the node and mark it Ready (the scan has run).
      const pod = await waitFor('scanner pod of the slow node', async () => {
        const l = await admin.core.listNamespacedPod({
          namespace: ns,
          labelSelector: 'containerscanner.io/run=slow-1',
        });
        return l.items[0];
      });
      await admin.core.createNamespacedBinding({
        namespace: ns,
        body: { metadata: { name: pod.metadata!.name! }, target: { apiVersion: 'v1', kind: 'Node', name: slow } },
      });
      await admin.core.patchNamespacedPodStatus(
        {
          namespace: ns,
          name: pod.metadata!.name!,
          body: {
            status: {
              phase: 'Running',
              conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date() }],
            },
          },
        },
        mergePatch,
      );
      const ready = await waitFor('node Ready in the status', async () => {
        const s = await getScan('slow');
        return s.status?.nodes?.[0]?.phase === 'Ready' ? s : undefined;
      });
      // Past the readiness timeout, but ready: still waited for.
      await new Promise((r) => setTimeout(r, 5000));
      expect((await getScan('slow')).status).to.include({ phase: 'Running', run: ready.status!.run });
      // Its only node never reported: the run publishes nothing and is not Completed.
      const done = await waitPhase('slow', 'Failed', 'slow-1', 30_000);
      // The pod is bound to a node with no kubelet to confirm its deletion: it outlives the teardown timeout and is
      // removed by force.
      expect(done.status!.errors).to.deep.equal([
        `node ${slow}: no report within the scan timeout of 10s`,
        'scanner DaemonSet not deleted within the teardown timeout of 3s; its leftovers were pruned',
      ]);
      expect(await reasonsOnce('slow', 'TeardownTimedOut')).to.include.members(['NodeTimedOut', 'TeardownTimedOut']);
      await waitFor(
        'bound pod gone',
        async () =>
          (await admin.core.listNamespacedPod({ namespace: ns, labelSelector: 'containerscanner.io/run=slow-1' })).items
            .length === 0,
      );
    } finally {
      await admin.core.deleteNode({ name: slow }).catch(() => undefined);
    }
  });

  it('runs again when the schedule is due, and not while suspended', async () => {
    await createScan('sched', {
      schedule: '0 0 1 1 *',
      nodeSelector: { 'it-run': tag },
      tolerations: FAKE_NODE_TOLERATIONS,
      readinessTimeout: '60s',
      scanTimeout: '60s',
      teardownTimeout: '20s',
    });
    await waitPhase('sched', 'Running', 'sched-1');
    await waitFor('DaemonSet of sched-1', () =>
      admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'sched-1-scanner' }),
    );
    for (const n of [nodes.good, nodes.garbage, nodes.silent])
      await playReporter(n, 'sched-1', writeFiles({}, undefined));
    const done = await waitPhase('sched', 'Completed', 'sched-1');
    const newYear = `${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`;
    expect(done.status!.nextRunTime).to.equal(newYear);
    const patchSpec = (spec: Record<string, unknown>) =>
      admin.custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace: ns, plural: SCANS, name: 'sched', body: { spec } },
        mergePatch,
      );
    // Time travel: the next slot is in the past (as after a long controller outage).
    const makeDue = () =>
      admin.custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: SCANS,
          name: 'sched',
          body: { status: { nextRunTime: new Date(Date.now() - 60_000).toISOString() } },
        },
        mergePatch,
      );

    await patchSpec({ suspend: true });
    let s = await waitFor('suspension taken in', async () => {
      const x = await getScan('sched');
      return x.status?.observedGeneration === 2 ? x : undefined;
    });
    expect(s.status).to.include({ run: 'sched-1', phase: 'Completed' });
    expect(s.status!.nextRunTime).to.equal(undefined);
    await makeDue();
    await new Promise((r) => setTimeout(r, 2000));
    expect((await getScan('sched')).status).to.include({ run: 'sched-1', phase: 'Completed' });

    await patchSpec({ suspend: false });
    s = await waitFor('resumption taken in', async () => {
      const x = await getScan('sched');
      return x.status?.observedGeneration === 3 ? x : undefined;
    });
    expect(s.status).to.include({ run: 'sched-1', nextRunTime: newYear });
    await makeDue();
    await waitPhase('sched', 'Running', 'sched-2');
    // The RunStarted Event is recorded just after the status that starts the run: wait for it.
    await waitFor('the RunStarted Event of sched-2', async () =>
      (await events('sched')).some(
        (e) => e.reason === 'RunStarted' && e.message === 'run sched-2 started (schedule) on 3 node(s)',
      ),
    );
  });

  it('starts one run only when several reconcilers race on a new scan (optimistic concurrency)', async () => {
    const mk = () =>
      new Reconciler({
        clients: controllerClients,
        namespace: ns,
        template: loadTemplate(),
        images: { scanner: 's', reporter: 'r' },
        reporterServiceAccount: 'container-scanner-reporter',
      });
    const racers = [mk(), mk(), mk()];
    await createScan('race', { nodeSelector: { 'it-run': tag }, tolerations: FAKE_NODE_TOLERATIONS });
    await Promise.all(racers.map((r) => r.reconcile(ns, 'race')));
    const s = await waitPhase('race', 'Running', 'race-1');
    expect(s.status!.runNumber).to.equal(1);
    await new Promise((r) => setTimeout(r, 1000));
    const started = (await events('race')).filter((e) => e.reason === 'RunStarted');
    expect(started.map((e) => e.message)).to.deep.equal(['run race-1 started (first run) on 3 node(s)']);
    const dss = await admin.apps.listNamespacedDaemonSet({
      namespace: ns,
      labelSelector: 'containerscanner.io/scan=race',
    });
    expect(dss.items.map((d) => d.metadata!.name)).to.deep.equal(['race-1-scanner']);
    // ... made once: a losing racer must not prune the winner's fresh DaemonSet as a leftover.
    expect((await events('race')).filter((e) => e.reason === 'DaemonSetCreated').map((e) => e.count)).to.deep.equal([
      1,
    ]);
  });

  /**
   * A scan.json as large as the reporter takes (its cap), in which the node claims the pod `shop/claimed-0` with
   * random container ids and values, next to one ordinary pod of its own.
   */
  const claimingScan = (node: string) => {
    const value = () => randomBytes(6).toString('base64'); // printable ASCII, unique per container
    const claimed: Record<string, Record<string, unknown>> = {};
    const tree = { shop: { [`own-${node}`]: goodScan.shop['cart-5b7c9'] as object, 'claimed-0': claimed } };
    let size = JSON.stringify(tree).length;
    for (;;) {
      const runtimes = [value(), value(), value(), value()].map((name) => ({ name, version: value() }));
      const info = {
        'os-release-id': value(),
        'os-release-version-id': value(),
        'runtime-kind': value(),
        'runtime-kind-version': value(),
        'runtime-kind-implementer': value(),
        'runtime-name': runtimes[0]!.name,
        'runtime-version': runtimes[0]!.version,
        runtimes,
      };
      const id = `containerd://${randomBytes(32).toString('hex')}`;
      const add = JSON.stringify({ [id]: info }).length;
      if (size + add > DEFAULT_MAX_SCAN_BYTES - 1024) break;
      claimed[id] = info;
      size += add;
    }
    return tree;
  };

  it('publishes a run without a pod too large to publish, naming the pod and the nodes that claimed it', async () => {
    await createScan('claimed', {
      nodeSelector: { 'it-run': tag },
      tolerations: FAKE_NODE_TOLERATIONS,
      readinessTimeout: '60s',
      scanTimeout: '60s',
      teardownTimeout: '20s',
    });
    await waitPhase('claimed', 'Running', 'claimed-1');
    await waitFor('DaemonSet of claimed-1', () =>
      admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'claimed-1-scanner' }),
    );
    // Two nodes claim one pod (a pod runs on one node: one of them lies), each with as much as its reporter takes;
    // the third reports as usual.
    const files = new Map([
      [nodes.good, writeFiles(claimingScan(nodes.good), { ...goodReport(nodes.good), containers: [] })],
      [nodes.garbage, writeFiles(claimingScan(nodes.garbage), { ...goodReport(nodes.garbage), containers: [] })],
      [nodes.silent, writeFiles(goodScan, goodReport(nodes.silent))],
    ]);
    for (const [n, f] of files) expect((await playReporter(n, 'claimed-1', f)).phase, n).to.equal('Reported');

    const done = await waitPhase('claimed', 'Completed', 'claimed-1', 90_000);
    const st = done.status!;
    // What must be published, from the reports themselves: their trees merged, the claimed pod measured alone.
    // The reports as the API server holds them (the controller merges those; the gzip size of the claimed pod
    // depends on the order of its containers, which the server's encoding sets).
    const merger = new TreeMerger();
    const stored = (await admin.custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: RESULTS,
      labelSelector: 'containerscanner.io/run=claimed-1',
    })) as { items: ScanResult[] };
    expect(stored.items.map((r) => r.spec.node).sort()).to.deep.equal([...files.keys()].sort());
    for (const r of stored.items) {
      const sent = validateScan(readFileSync(files.get(r.spec.node)!.scanPath)).tree;
      const held = validateTree(r.status!.tree).tree;
      expect(held, `${r.spec.node}'s report as stored`).to.deep.equal(sent);
      merger.add(r.spec.node, held);
    }
    const merged = merger.result();
    const claimed = merged.tree.shop!['claimed-0']!;
    const claimedBytes = shardTree({ shop: { 'claimed-0': claimed } }, Infinity).shards[0]!.gzip.length;
    expect(claimedBytes, 'the claimed pod alone is above the shard limit').to.be.above(DEFAULT_MAX_SHARD_BYTES);
    const rest = structuredClone(merged.tree);
    delete rest.shop!['claimed-0'];
    const restContainers = merged.containers - Object.keys(claimed).length;
    const [first, second] = [nodes.good, nodes.garbage].sort();
    const line =
      `pod shop/claimed-0 left out of the published result: its ${Object.keys(claimed).length} container(s), ` +
      `reported by nodes ${first}, ${second}, alone compress to ${claimedBytes} bytes, above the shard limit of ` +
      `${DEFAULT_MAX_SHARD_BYTES} bytes`;

    expect(st).to.include({ nodesReported: 3, nodesFailed: 0 });
    expect(st.errors).to.deep.equal([line]);
    expect(st.result).to.deep.equal({
      run: 'claimed-1',
      configMap: 'claimed-1-result',
      shards: 1,
      containers: restContainers,
      omittedPods: 1,
      omittedPodNames: ['shop/claimed-0'],
    });
    const cond = Object.fromEntries(st.conditions!.map((c) => [c.type, c]));
    expect(cond.Complete).to.include({
      status: 'True',
      reason: 'PartiallyPublished',
      message: 'run claimed-1 published claimed-1-result without 1 pod(s) too large to publish: shop/claimed-0',
    });
    expect(cond.Degraded).to.include({ status: 'True', reason: 'RunErrors', message: line });

    // Everything else is published, and its readers are told what is missing.
    const index = await admin.core.readNamespacedConfigMap({ namespace: ns, name: 'claimed-1-result' });
    const shard = await admin.core.readNamespacedConfigMap({ namespace: ns, name: 'claimed-1-result-0' });
    const pub = readPublication(index, [shard]);
    expect(pub.tree).to.deep.equal(rest);
    expect(pub.index).to.deep.include({ containers: restContainers, errors: [line] });
    expect(schemaViolations(index, [shard])).to.deep.equal([]);
    const go = goRead(ns, 'claimed');
    expect(go).to.deep.include({ run: 'claimed-1', errors: [line] });
    expect(go.containers).to.deep.equal(gathererShape(rest));

    const evs = await waitFor('the Completed Event of claimed', async () => {
      const list = await events('claimed');
      return list.some((e) => e.reason === 'Completed') && list;
    });
    const byReason = (r: string) => evs.find((e) => e.reason === r);
    expect(byReason('PodsOmitted')).to.deep.include({
      type: 'Warning',
      message: `run claimed-1: 1 pod(s) left out of the published result: ${line}`,
    });
    expect(byReason('Published')).to.deep.include({
      type: 'Warning',
      message:
        `run claimed-1: ${restContainers} container(s) from 3/3 node(s) published; 1 pod(s) left out, too large ` +
        'to publish',
    });
    expect(sample(await metrics.render(), `containerscan_pods_omitted_total{scan="${ns}/claimed"}`)).to.equal(1);
  });

  it('ends a run Failed when the API server refuses its result, and keeps the last result readable', async () => {
    const spec = {
      nodeSelector: { 'it-run': tag },
      tolerations: FAKE_NODE_TOLERATIONS,
      readinessTimeout: '60s',
      scanTimeout: '60s',
      teardownTimeout: '20s',
      historyLimit: 1,
    };
    // Each node its own copy of the two workloads, as in any run.
    const report = async (run: string) => {
      for (const [i, n] of [nodes.good, nodes.garbage, nodes.silent].entries()) {
        const ids = [ID_JAVA, ID_GO].map((id) => id.slice(0, -2) + String(i).padStart(2, '0'));
        const tree = {
          shop: { [`cart-${i}`]: { [ids[0]!]: goodScan.shop['cart-5b7c9'][ID_JAVA] } },
          tools: { [`gw-${i}`]: { [ids[1]!]: goodScan.tools['gw-1'][ID_GO] } },
        };
        await playReporter(n, run, writeFiles(tree, { ...goodReport(n), containers: [] }));
      }
    };
    const respec = (scanTimeout: string) =>
      admin.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: SCANS,
          name: 'quota',
          body: { spec: { scanTimeout } },
        },
        mergePatch,
      );
    const runConfigMaps = async (run: string) =>
      (
        await admin.core.listNamespacedConfigMap({ namespace: ns, labelSelector: `containerscanner.io/run=${run}` })
      ).items.map((c) => c.metadata!.name);
    /** A namespace quota that admits `more` ConfigMaps beyond those there now, counted by the quota controller. */
    const limitConfigMaps = async (more: number) => {
      const now = (await admin.core.listNamespacedConfigMap({ namespace: ns })).items.length;
      await admin.core.createNamespacedResourceQuota({
        namespace: ns,
        body: { metadata: { name: 'configmaps' }, spec: { hard: { configmaps: String(now + more) } } },
      });
      await waitFor('the quota counted', async () => {
        const q = await admin.core.readNamespacedResourceQuota({ namespace: ns, name: 'configmaps' });
        return q.status?.used?.configmaps === String(now);
      });
    };
    const unlimit = async () => {
      await admin.core.deleteNamespacedResourceQuota({ namespace: ns, name: 'configmaps' }).catch(() => undefined);
      await waitFor('the quota gone', () =>
        admin.core.readNamespacedResourceQuota({ namespace: ns, name: 'configmaps' }).then(
          () => false,
          (e) => statusCode(e) === 404,
        ),
      );
    };
    const failedRuns = () =>
      metrics.render().then((t) => sample(t, `containerscan_publications_failed_total{scan="${ns}/quota"}`) ?? 0);

    // Run 1 publishes.
    await createScan('quota', spec);
    await waitPhase('quota', 'Running', 'quota-1');
    await report('quota-1');
    const first = (await waitPhase('quota', 'Completed', 'quota-1')).status!.result!;
    expect(first).to.deep.include({ run: 'quota-1', containers: 6 });

    // Run 2: the namespace's ConfigMap quota is full, and the API server refuses the first shard.
    try {
      await limitConfigMaps(0);
      await respec('61s');
      await waitPhase('quota', 'Running', 'quota-2');
      await report('quota-2');
      const st = (await waitPhase('quota', 'Failed', 'quota-2')).status!;
      const complete = st.conditions!.find((c) => c.type === 'Complete')!;
      expect(complete).to.include({ status: 'False', reason: 'PublicationFailed' });
      expect(complete.message).to.match(
        /^run quota-2: result not published: the API server refused ConfigMap quota-2-result-0: HTTP 403: .*exceeded quota: configmaps/,
      );
      expect(st.errors).to.deep.equal([complete.message.slice('run quota-2: '.length)]);
      expect(st.conditions!.find((c) => c.type === 'Degraded')).to.include({ status: 'True', reason: 'RunErrors' });
      // Nothing of run 2 is left half-published; readers still get run 1, which historyLimit 1 does not prune.
      expect(st.result).to.deep.equal(first);
      expect(await runConfigMaps('quota-2')).to.deep.equal([]);
      expect((await runConfigMaps('quota-1')).sort()).to.deep.equal([
        'quota-1-result',
        'quota-1-result-0',
        'quota-latest',
      ]);
      expect(goRead(ns, 'quota')).to.deep.include({ run: 'quota-1', errors: [] });
      const reasons = await reasonsOnce('quota', 'RunFailed');
      expect(reasons).to.include('PublishFailed');
      const publishFailed = (await events('quota')).find((e) => e.reason === 'PublishFailed')!;
      expect(publishFailed.message).to.equal(`${complete.message}; the last published result (run quota-1) stays`);
      expect(await failedRuns()).to.equal(1);
    } finally {
      await unlimit();
    }

    // Run 3, with room again, publishes and moves the pointer; run 1 is pruned now.
    await respec('62s');
    await waitPhase('quota', 'Running', 'quota-3');
    await report('quota-3');
    const third = (await waitPhase('quota', 'Completed', 'quota-3')).status!;
    expect(third.result).to.deep.include({ run: 'quota-3', containers: 6 });
    expect(goRead(ns, 'quota')).to.deep.include({ run: 'quota-3', errors: [] });
    await waitFor('run 1 pruned', async () => (await runConfigMaps('quota-1')).length === 0);

    // A first run whose shard and index fit but whose pointer does not: readers get nothing, so it failed too.
    try {
      await limitConfigMaps(2);
      await createScan('pointer', spec);
      await waitPhase('pointer', 'Running', 'pointer-1');
      await report('pointer-1');
      const st = (await waitPhase('pointer', 'Failed', 'pointer-1')).status!;
      expect(st.result).to.equal(undefined);
      const complete = st.conditions!.find((c) => c.type === 'Complete')!;
      expect(complete).to.include({ status: 'False', reason: 'PublicationFailed' });
      expect(complete.message).to.match(
        /^run pointer-1: result not published: pointer-1-result was written, but the API server refused the pointer pointer-latest: HTTP 403: .*exceeded quota: configmaps/,
      );
      await admin.core.readNamespacedConfigMap({ namespace: ns, name: 'pointer-latest' }).then(
        () => expect.fail('pointer-latest exists'),
        (e) => expect(statusCode(e)).to.equal(404),
      );
      expect(await reasonsOnce('pointer', 'RunFailed'))
        .to.include('PublishFailed')
        .and.not.include('Completed');
    } finally {
      await unlimit();
    }
  });

  it('refuses an invalid spec with a clear condition and runs nothing', async () => {
    await createScan('bad', { scanTimeout: 'soon', schedule: '0 */12 * * *' }).then(
      () => expect.fail('the CRD schema accepted scanTimeout "soon"'),
      (e) => expect(statusCode(e)).to.equal(422),
    );
    // The CRD says 5 fields and means it: not one, not six (a seconds field would run the scan every few seconds).
    for (const schedule of ['sometimes', '*/5 * * * * *'])
      await createScan('bad', { schedule }).then(
        () => expect.fail(`the CRD schema accepted schedule ${JSON.stringify(schedule)}`),
        (e) => expect(String((e as { body?: unknown }).body)).to.match(/spec.schedule/),
      );
    // Five fields, but not a schedule: the controller says so in a condition.
    await createScan('bad', { schedule: '61 * * * *' });
    const s = await waitPhase('bad', 'Failed');
    const c = s.status!.conditions!.find((x) => x.type === 'Degraded')!;
    expect(c).to.include({ status: 'True', reason: 'InvalidSpec' });
    expect(c.message).to.match(/spec.schedule "61 \* \* \* \*" is not a valid cron expression/);
    expect(s.status!.run).to.equal(undefined);
  });

  // ---- issue 10: nothing a ContainerScan author or a node writes is trusted -----------------------------------

  const scanOf = (name: string, spec: ContainerScan['spec']) => ({
    nodeSelector: { 'it-run': tag },
    tolerations: FAKE_NODE_TOLERATIONS,
    readinessTimeout: '60s',
    scanTimeout: '60s',
    teardownTimeout: '20s',
    ...spec,
    name,
  });
  const deleteScan = (name: string) =>
    admin.custom
      .deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: SCANS, name })
      .catch(() => undefined);
  const results = async (run: string) =>
    (
      (await admin.custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: RESULTS,
        labelSelector: `containerscanner.io/run=${run}`,
      })) as { items: ScanResult[] }
    ).items;

  it("runs only the images of the controller's configuration, whatever the ContainerScan says", async () => {
    const { name, ...spec } = scanOf('img', { tolerations: [{ operator: 'Exists' }] });
    const created = (await createScan(name, {
      ...spec,
      image: 'attacker.example/anything:1',
      reporterImage: 'attacker.example/reporter:1',
    } as ContainerScan['spec'])) as ContainerScan;
    // The fields do not exist: the API server drops them.
    expect(created.spec).to.not.have.any.keys('image', 'reporterImage');
    const ds = await waitFor('DaemonSet of img-1', () =>
      admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'img-1-scanner' }),
    );
    const pod = ds.spec!.template.spec!;
    expect([...(pod.initContainers ?? []), ...pod.containers].map((c) => c.image)).to.deep.equal([
      'localhost/container-scanner/scanner:test',
      'localhost/container-scanner/controller:test',
    ]);
    await deleteScan('img');
  });

  it('does not start a run for a ContainerScan created suspended, and starts it when resumed', async () => {
    const { name, ...spec } = scanOf('sleepy', { suspend: true, schedule: '*/5 * * * *' });
    await createScan(name, spec);
    const s = await waitPhase('sleepy', 'Pending');
    expect(s.status!.run).to.equal(undefined);
    expect(s.status!.nextRunTime).to.equal(undefined);
    expect(s.status!.conditions!.find((c) => c.type === 'Scanning')).to.include({
      status: 'False',
      reason: 'Suspended',
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      (await admin.apps.listNamespacedDaemonSet({ namespace: ns, labelSelector: 'containerscanner.io/scan=sleepy' }))
        .items,
    ).to.have.length(0);
    expect((await events('sleepy')).filter((e) => e.reason === 'RunStarted')).to.have.length(0);
    await admin.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: SCANS,
        name: 'sleepy',
        body: { spec: { suspend: false } },
      },
      mergePatch,
    );
    await waitPhase('sleepy', 'Running', 'sleepy-1');
    await deleteScan('sleepy');
  });

  it("tells a ContainerScan outside the controller's namespace that it is not handled", async () => {
    const other = uniqueName('cs-other');
    await admin.core.createNamespace({ body: { metadata: { name: other } } });
    try {
      await admin.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: other,
        plural: SCANS,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ContainerScan', metadata: { name: 'elsewhere' }, spec: {} },
      });
      const s = await waitFor('Accepted=False', async () => {
        const x = (await admin.custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: other,
          plural: SCANS,
          name: 'elsewhere',
        })) as ContainerScan;
        return x.status?.conditions?.some((c) => c.type === 'Accepted') ? x : undefined;
      });
      expect(s.status!.phase).to.equal('Failed');
      const c = s.status!.conditions!.find((x) => x.type === 'Accepted')!;
      expect(c).to.include({ status: 'False', reason: 'OutsideControllerNamespace' });
      expect(c.message).to.contain(`only in namespace ${ns}`);
      expect(
        (await admin.apps.listDaemonSetForAllNamespaces({ labelSelector: 'containerscanner.io/scan=elsewhere' })).items,
      ).to.have.length(0);
    } finally {
      await admin.core.deleteNamespace({ name: other }).catch(() => undefined);
    }
  });

  it('finishes a run whose ContainerScan was deleted mid-run and applied again under the same name', async () => {
    const { name, ...spec } = scanOf('again', {});
    await createScan(name, spec);
    const first = await waitPhase('again', 'Running', 'again-1');
    await waitFor('DaemonSet and reporter Role of the first incarnation', async () => {
      await admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'again-1-scanner' });
      return admin.rbac.readNamespacedRole({ namespace: ns, name: 'again-1-reporter' });
    });
    await deleteScan('again');
    await waitFor('the first incarnation gone', () =>
      getScan('again').then(
        () => false,
        (e) => statusCode(e) === 404,
      ),
    );
    await createScan(name, spec);
    const second = await waitPhase('again', 'Running', 'again-1');
    expect(second.metadata.uid).to.not.equal(first.metadata.uid);
    // The run's objects are the new incarnation's, whatever the garbage collector has done with the old ones.
    const owned = (o: { metadata?: { ownerReferences?: { uid: string }[] } }) =>
      o.metadata?.ownerReferences?.[0]?.uid === second.metadata.uid;
    await waitFor('DaemonSet, Role and RoleBinding of the new incarnation', async () => {
      const ds = await admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'again-1-scanner' });
      const role = await admin.rbac.readNamespacedRole({ namespace: ns, name: 'again-1-reporter' });
      const binding = await admin.rbac.readNamespacedRoleBinding({ namespace: ns, name: 'again-1-reporter' });
      return owned(ds) && owned(role) && owned(binding) && !role.metadata?.deletionTimestamp;
    });
    for (const n of [nodes.good, nodes.garbage, nodes.silent]) {
      const st = await writeNodeStatus(reporterClients, {
        ...writeFiles(goodScan, goodReport(n)),
        node: n,
        namespace: ns,
        run: 'again-1',
        retryForMs: 20_000,
      });
      expect(st.phase).to.equal('Reported');
    }
    const done = await waitPhase('again', 'Completed', 'again-1');
    expect(done.status).to.include({ nodesReported: 3, nodesFailed: 0 });
    await deleteScan('again');
  });

  it('merges only what it created and what passes the rules; counts from the tree', async () => {
    const { name, ...spec } = scanOf('trust', { readinessTimeout: '15s' });
    await createScan(name, spec);
    await waitPhase('trust', 'Running', 'trust-1');
    await waitFor('DaemonSet of trust-1', () =>
      admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'trust-1-scanner' }),
    );
    const srName = (n: string) => `trust-1-${n}`;
    const patchStatus = (n: string, status: unknown) =>
      admin.custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace: ns, plural: RESULTS, name: srName(n), body: { status } },
        mergePatch,
      );
    // The good node reports for real, then someone with write access inflates its counts.
    await playReporter(nodes.good, 'trust-1', writeFiles(goodScan, goodReport(nodes.good)));
    // The garbage node's ScanResult gets a hostile tree (the API schema cannot check map keys).
    const hostile = { 'x","evil":"1': { '../..': { 'not-a-container-id': { 'runtime-kind': 'Java' } } } };
    await patchStatus(nodes.garbage, {
      phase: 'Reported',
      reportedAt: new Date().toISOString(),
      containersScanned: 1_000_007,
      tree: hostile,
    });
    // The silent node's real ScanResult is replaced by someone else's, and a second one is added for it.
    await admin.custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: RESULTS,
      name: srName(nodes.silent),
    });
    const forged = (n: string) => ({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'ScanResult',
      metadata: {
        name: n,
        labels: {
          'containerscanner.io/scan': 'trust',
          'containerscanner.io/run': 'trust-1',
          'containerscanner.io/component': 'result',
        },
      },
      spec: { scan: 'trust', run: 'trust-1', node: nodes.silent },
    });
    for (const n of [srName(nodes.silent), `${srName(nodes.silent)}-second`]) {
      await admin.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: RESULTS,
        body: forged(n),
      });
      await admin.custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: RESULTS,
          name: n,
          body: {
            status: {
              phase: 'Reported',
              containersScanned: 1,
              tree: { evil: { pod: { ['containerd://' + 'ee'.repeat(32)]: { 'runtime-kind': 'Forged' } } } },
            },
          },
        },
        mergePatch,
      );
    }
    await patchStatus(nodes.good, { containersScanned: 1_000_007, containersDetected: 1_000_007 });

    const done = await waitPhase('trust', 'Completed', 'trust-1', 60_000);
    const st = done.status!;
    expect(st).to.include({ nodesReported: 1, nodesFailed: 2, containersScanned: 2, containersDetected: 2 });
    const byName = Object.fromEntries(st.nodes!.map((n) => [n.name, n]));
    expect(byName[nodes.garbage]).to.include({ phase: 'Failed', reason: 'ReportRejected' });
    expect(byName[nodes.silent]).to.include({ phase: 'Failed', reason: 'NodeNotReady' });
    expect(st.errors!.find((e) => e.startsWith(`node ${nodes.garbage}:`))).to.match(
      /refused by the controller: scan.json: .* is not a namespace name/,
    );
    // The published tree is the good node's two containers, nothing else.
    const index = await admin.core.readNamespacedConfigMap({ namespace: ns, name: 'trust-1-result' });
    const shards: V1ConfigMap[] = [];
    for (const sh of (JSON.parse(index.data!['index.json']!) as { shards: { name: string }[] }).shards)
      shards.push(await admin.core.readNamespacedConfigMap({ namespace: ns, name: sh.name }));
    const pub = readPublication(index, shards);
    expect(Object.keys(pub.tree).sort()).to.deep.equal(['shop', 'tools']);
    expect(pub.index.containers).to.equal(2);
    const evs = await events('trust');
    const foreign = evs.filter((e) => e.reason === 'ForeignScanResult').map((e) => e.message!);
    expect(
      foreign.some(
        (m) => m.includes(`${srName(nodes.silent)} (uid`) && m.includes('was not created by the controller'),
      ),
    ).to.equal(true);
    expect(foreign.some((m) => m.includes(`${srName(nodes.silent)}-second`))).to.equal(true);
    expect(evs.map((e) => e.reason)).to.include('ReportRejected');
    // The verdict is written where the node's details live.
    const rejected = (await results('trust-1')).find((r) => r.metadata.name === srName(nodes.garbage))!;
    expect(rejected.status).to.include({ phase: 'Failed' });
    expect(rejected.status!.error).to.match(/refused by the controller/);
    await deleteScan('trust');
  });

  it(
    'says when Pod Security rejects the scanner pods, with the fix, and does not call a run with no report ' +
      'Completed',
    async () => {
      await admin.core.patchNamespace(
        { name: ns, body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } } },
        mergePatch,
      );
      try {
        const { name, ...spec } = scanOf('psa', { readinessTimeout: '10s', teardownTimeout: '5s' });
        await createScan(name, spec);
        const rejected = await waitFor(
          'the ScannerPodsRejected condition',
          async () => {
            const s = await getScan('psa');
            return s.status?.conditions?.find((c) => c.reason === 'ScannerPodsRejected');
          },
          30_000,
        );
        expect(rejected.message).to.match(
          /Pod Security admission rejects the scanner pods \(.*violates PodSecurity "baseline/,
        );
        expect(rejected.message).to.contain(
          `kubectl label namespace ${ns} pod-security.kubernetes.io/enforce=privileged --overwrite`,
        );
        // The same cause must read the same each time, whichever pod the DaemonSet controller tried last.
        expect(rejected.message).to.not.match(/psa-1-scanner-[a-z0-9]+/);
        const end = await waitPhase('psa', 'Failed', 'psa-1', 60_000);
        expect(end.status).to.include({ nodesReported: 0, nodesFailed: 3 });
        expect(end.status!.result).to.equal(undefined);
        expect(end.status!.errors![0]).to.contain('pod-security.kubernetes.io/enforce=privileged');
        expect(end.status!.conditions!.find((c) => c.type === 'Complete')).to.include({
          status: 'False',
          reason: 'NoNodeReported',
        });
        // The run's closing Events are recorded just after its final status: wait for them, not only the status.
        const evs = await waitFor('the closing Events of run psa-1', async () => {
          const all = await events('psa');
          return all.some((e) => e.reason === 'RunFailed') && all;
        });
        // Aggregated: the three nodes are one Event; the rejection, however often seen, is one Event with a count.
        expect(evs.filter((e) => e.reason === 'NodeNotReady')).to.have.length(1);
        expect(evs.find((e) => e.reason === 'NodeNotReady')!.message).to.match(
          /^3 nodes failed \(scanner pod not ready\)/,
        );
        expect(evs.filter((e) => e.reason === 'ScannerPodsRejected')).to.have.length(1);
        expect(evs.map((e) => e.reason)).to.include.members(['NothingReported', 'RunFailed']);
        expect(evs.map((e) => e.reason)).to.not.include('Completed');
        await admin.core.readNamespacedConfigMap({ namespace: ns, name: 'psa-1-result' }).then(
          () => expect.fail('a run with no report published a result'),
          (e) => expect(statusCode(e)).to.equal(404),
        );
      } finally {
        await admin.core.patchNamespace(
          { name: ns, body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } } },
          mergePatch,
        );
        await deleteScan('psa');
      }
    },
  );

  it('counts a repeated Event on one object instead of making new ones', async () => {
    const scan = await getScan('life');
    const rec = new EventRecorder(controllerClients, { now: () => new Date() });
    const target = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'ContainerScan',
      name: 'life',
      namespace: ns,
      uid: scan.metadata.uid,
    };
    for (let i = 0; i < 3; i++) await rec.record(target, 'Warning', 'TestRepeat', 'the same thing again');
    await rec.record(target, 'Warning', 'TestRepeat', 'something else');
    const evs = (await events('life')).filter((e) => e.reason === 'TestRepeat');
    expect(evs.map((e) => [e.message, e.count]).sort()).to.deep.equal([
      ['something else', 1],
      ['the same thing again', 3],
    ]);
  });

  it('accepts the status of a 5000-node run whose nodes all failed (well under 1 MiB)', async () => {
    const { name, ...spec } = scanOf('big', { suspend: true });
    await createScan(name, spec);
    const cur = await waitPhase('big', 'Pending');
    const names = Array.from(
      { length: 5000 },
      (_, i) => `ip-10-${(i >> 16) & 255}-${(i >> 8) & 255}-${i & 255}.eu-west-1.compute.internal`,
    );
    const t0 = new Date();
    const started = { ...cur, status: startRun(cur, names, t0) };
    for (const n of started.status.nodes!) n.scanResultUID = randomUUID();
    const timeouts = { readinessMs: 1000, scanMs: 2000, teardownMs: 1000 };
    const podProblems = new Map(
      names.map((n) => [
        n,
        'scanner waiting: ImagePullBackOff: Back-off pulling image ' +
          '"registry.example.com/container-scanner/scanner:v1.2.3"',
      ]),
    );
    const failed = step(
      started,
      { reports: new Map(), readyNodes: new Set(), runObjectsGone: false, podProblems },
      new Date(t0.getTime() + 1000),
      timeouts,
    ).status;
    const end = step(
      { ...started, status: failed },
      { reports: new Map(), readyNodes: new Set(), runObjectsGone: true },
      new Date(t0.getTime() + 1500),
      timeouts,
    ).status;
    const written = (await admin.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: SCANS,
      name: 'big',
      body: { ...cur, status: end },
    })) as ContainerScan;
    expect(written.status).to.include({ phase: 'Failed', nodesFailed: 5000 });
    const bytes = Buffer.byteLength(JSON.stringify(written));
    expect(bytes).to.be.below(512 * 1024);
    await deleteScan('big');
  });
});
