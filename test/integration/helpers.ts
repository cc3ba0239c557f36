import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { isConflict, isNotFound, makeClients, type Clients } from '../../controller/kube/clients.js';
import { sleep } from '../../controller/util/sleep.js';

export const REPO = new URL('../../', import.meta.url).pathname;

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel chose it). */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

/** The API server under test; there is no silent skip: without one, the suite fails and says why. */
export function adminKubeConfig(): KubeConfig {
  if (!process.env.KUBECONFIG)
    throw new Error(
      'KUBECONFIG is not set: the integration tests need a real API server (hack/test-integration starts one and ' +
        'sets it)',
    );
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG);
  return kc;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ` +
          `${what}${last ? `; last error: ${String((last as Error).message ?? last)}` : ''}`,
      );
    await sleep(everyMs);
  }
}

/**
 * The value of one series in a Prometheus text exposition, named as it is written there (e.g.
 * `containerscan_run_duration_seconds_count{phase="Completed"}`); undefined when it is not there.
 */
export function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

export function loadManifests(path: string): KubernetesObject[] {
  return loadAllYaml(readFileSync(path, 'utf8')).filter((o): o is KubernetesObject => !!o && typeof o === 'object');
}

/** The manifests under config/ (the kustomizations' own files aside). */
export function configFiles(): string[] {
  return ['default', 'openshift', 'samples'].flatMap((dir) =>
    readdirSync(`${REPO}config/${dir}`)
      .filter((f) => f.endsWith('.yaml') && !f.startsWith('kustomiz'))
      .map((f) => `${REPO}config/${dir}/${f}`),
  );
}

/** Points manifests made for namespace container-scanner at another namespace (cluster-scoped names get a suffix). */
export function retarget(objs: KubernetesObject[], ns: string): KubernetesObject[] {
  return objs.map((o) => {
    const c = structuredClone(o) as KubernetesObject & {
      subjects?: { namespace?: string }[];
      roleRef?: { kind: string; name: string };
    };
    if (c.kind === 'Namespace') c.metadata!.name = ns;
    else if (c.metadata?.namespace) c.metadata.namespace = ns;
    else c.metadata!.name = `${c.metadata!.name}-${ns}`;
    for (const s of c.subjects ?? []) if (s.namespace) s.namespace = ns;
    if (c.kind === 'ClusterRoleBinding' && c.roleRef) c.roleRef.name = `${c.roleRef.name}-${ns}`;
    return c;
  });
}

/** The install's namespace and RBAC (config/default), pointed at the test namespace `ns`. */
export function installRbac(ns: string): KubernetesObject[] {
  return retarget(
    [...loadManifests(`${REPO}config/default/namespace.yaml`), ...loadManifests(`${REPO}config/default/rbac.yaml`)],
    ns,
  );
}

/** Removes the test namespace `ns` and what installRbac(ns) made outside it; a cleanup, so errors are ignored. */
export async function removeInstall(admin: Clients, ns: string): Promise<void> {
  await admin.core.deleteNamespace({ name: ns }).catch(() => undefined);
  for (const o of installRbac(ns))
    if (!o.metadata?.namespace && o.kind !== 'Namespace')
      await admin.rbac[o.kind === 'ClusterRole' ? 'deleteClusterRole' : 'deleteClusterRoleBinding']({
        name: o.metadata!.name!,
      }).catch(() => undefined);
}

/** kubectl apply, roughly: create, or replace what is there. */
export async function apply(kc: KubeConfig, objs: KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const o of objs) {
    try {
      await api.create(o);
    } catch (e) {
      if (!isConflict(e)) throw e;
      const cur = await api.read(o as never);
      await api.replace({ ...o, metadata: { ...o.metadata, resourceVersion: cur.metadata?.resourceVersion } });
    }
  }
}

export async function deleteObjects(kc: KubeConfig, objs: KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const o of objs) {
    try {
      await api.delete(o, undefined, undefined, 0, undefined, 'Background');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** Lifetime of the ServiceAccount tokens the tests request: the kubelet's default for a projected token. */
export const TOKEN_SECONDS = 3600;

/** The folders of the token files, removed when the process exits (one hook for all of them). */
const tokenDirs: string[] = [];
process.once('exit', () => {
  for (const dir of tokenDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Clients that authenticate as a ServiceAccount the way a pod does: a token from the TokenRequest API in a file,
 * renewed at 80% of its life as the kubelet renews a projected token, and read by client-node's token-file
 * provider (again every minute, as in-cluster). A kubeconfig exported from these clients names the same file, so a
 * process started with it keeps working too. A token written once into the kubeconfig expired after an hour and
 * every client got 401 Unauthorized: the 5000-node benchmark runs longer than that.
 */
export async function serviceAccountClients(
  admin: Clients,
  namespace: string,
  name: string,
): Promise<Clients & { renewToken: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `cs-token-${name}-`));
  tokenDirs.push(dir);
  const tokenFile = join(dir, 'token');
  const renew = async () => {
    const tr = await admin.core.createNamespacedServiceAccountToken({
      namespace,
      name,
      body: { spec: { expirationSeconds: TOKEN_SECONDS, audiences: [] } },
    });
    // Whole or not at all: a reader never sees half a token.
    writeFileSync(`${tokenFile}.new`, tr.status!.token!, { mode: 0o600 });
    renameSync(`${tokenFile}.new`, tokenFile);
  };
  await renew();
  const renewal = setInterval(() => {
    renew().catch((e: unknown) =>
      console.error(`renewing the token of ServiceAccount ${namespace}/${name}: ${String(e)}`),
    );
  }, TOKEN_SECONDS * 800);
  renewal.unref();
  const cluster = admin.kc.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name, authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [{ name, cluster: cluster.name, user: name, namespace }],
    currentContext: name,
  });
  return { ...makeClients(kc), renewToken: renew };
}

/** One raw API request (for content types client-node does not send, e.g. server-side apply YAML). */
export async function rawRequest(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<{ code: number; body: string }> {
  const cluster = kc.getCurrentCluster()!;
  const url = new URL(cluster.server + path);
  const opts: import('node:https').RequestOptions = {
    method,
    headers: { 'Content-Type': contentType, Accept: 'application/json' },
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** GET as a server-side Table (what kubectl get prints): column names and rows. */
export async function getTable(kc: KubeConfig, path: string): Promise<{ columns: string[]; rows: unknown[][] }> {
  const cluster = kc.getCurrentCluster()!;
  const url = new URL(cluster.server + path);
  const opts: import('node:https').RequestOptions = {
    method: 'GET',
    headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
  };
  await kc.applyToHTTPSOptions(opts);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(data) : reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${data}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
  const t = JSON.parse(body) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  return { columns: t.columnDefinitions.map((c) => c.name), rows: t.rows.map((r) => r.cells) };
}

export async function ensureCrds(kc: KubeConfig): Promise<void> {
  const crds = [...loadManifests(`${REPO}crds/containerscans.yaml`), ...loadManifests(`${REPO}crds/scanresults.yaml`)];
  await apply(kc, crds);
  const c = makeClients(kc);
  for (const crd of crds) {
    await waitFor(`CRD ${crd.metadata!.name} established`, async () => {
      const api = KubernetesObjectApi.makeApiClient(kc);
      const cur = (await api.read(crd as never)) as { status?: { conditions?: { type: string; status: string }[] } };
      return cur.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
    });
  }
  // Discovery of a new group can lag the Established condition.
  await waitFor('containerscans served', () =>
    c.custom
      .listNamespacedCustomObject({
        group: 'containerscanner.io',
        version: 'v1alpha1',
        namespace: 'default',
        plural: 'containerscans',
      })
      .then(() => true),
  );
}

/**
 * The test's nodes are API objects without a kubelet: kube-controller-manager soon taints them not-ready and
 * unreachable (NoSchedule), which keeps DaemonSet pods, and so the controller's targeting, away from them. Scans in
 * the tests tolerate exactly those taints.
 */
export const FAKE_NODE_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists' },
];

/** A TCP proxy whose traffic can be frozen: connections stay open, nothing passes (a hung connection). */
export class FreezableProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Data held while frozen, delivered on thaw. */
  private readonly held: (() => void)[] = [];
  private frozen = false;
  port = 0;
  /** Connections accepted so far. */
  accepted = 0;

  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      this.accepted++;
      const upstream = connect(target.port, target.host);
      const forward = (from: Socket, to: Socket) =>
        from.on('data', (d: Buffer) => {
          if (this.frozen) this.held.push(() => to.write(d));
          else to.write(d);
        });
      forward(client, upstream);
      forward(upstream, client);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      // A close is traffic too: while frozen it waits behind the data held before it.
      const closeLater = (s: Socket) => () => (this.frozen ? this.held.push(() => s.destroy()) : s.destroy());
      client.on('close', closeLater(upstream));
      upstream.on('close', closeLater(client));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
    for (const deliver of this.held.splice(0)) deliver();
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}
