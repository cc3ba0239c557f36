import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  ServerConfiguration,
  createConfiguration,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { shareConnections } from './connections.js';
import { DEFAULT_TIMEOUTS, TimeoutHttpLibrary, type Timeouts } from './timeouts.js';

/** The API clients the controller and the reporter use, made from one kubeconfig. */
export interface Clients {
  /** The kubeconfig the clients use, whose requests share their connections (kube/connections.ts): watch with it. */
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  rbac: RbacAuthorizationV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
  /** The request and watch timeouts the clients use; watches are made with BoundedWatch(kc, timeouts.watchMs). */
  timeouts: Timeouts;
}

/** $KUBECONFIG, else ~/.kube/config, else the pod's service account; a clear error when there is none. */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  const home = env.HOME ? join(env.HOME, '.kube', 'config') : undefined;
  if (env.KUBECONFIG) kc.loadFromDefault();
  else if (home && existsSync(home)) kc.loadFromFile(home);
  else if (env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token'))
    kc.loadFromCluster();
  else throw new Error('no Kubernetes API configured: set KUBECONFIG, or run in a pod with a service account token');
  if (!kc.getCurrentCluster())
    throw new Error(`the kubeconfig has no current cluster (KUBECONFIG=${env.KUBECONFIG ?? home})`);
  return kc;
}

/**
 * The API clients, as KubeConfig.makeApiClient makes them but with every request bounded by timeouts.requestMs
 * (kube/timeouts.ts): a request that hangs fails with a RequestTimeoutError instead of holding its caller. Their
 * requests, and the watches made with the returned `kc`, reuse their connections (kube/connections.ts).
 */
export function makeClients(config: KubeConfig, timeouts: Timeouts = DEFAULT_TIMEOUTS): Clients {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const kc = shareConnections(config);
  const api = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    httpApi: new TimeoutHttpLibrary(timeouts.requestMs),
  });
  return {
    kc,
    core: new CoreV1Api(api),
    apps: new AppsV1Api(api),
    rbac: new RbacAuthorizationV1Api(api),
    custom: new CustomObjectsApi(api),
    coordination: new CoordinationV1Api(api),
    timeouts,
  };
}

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** HTTP status of an API error (client-node's ApiException), or undefined for other errors. */
export function statusCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
export const isNotFound = (e: unknown) => statusCode(e) === 404;
export const isConflict = (e: unknown) => statusCode(e) === 409;

/** Creates, treating "already exists" as success (every create of the controller is idempotent). */
export async function createIfAbsent(create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (e) {
    if (isConflict(e)) return false;
    throw e;
  }
}

/** Deletes, treating "not found" as success. */
export async function deleteIfPresent(del: () => Promise<unknown>): Promise<void> {
  try {
    await del();
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** A short description of an API error for logs and statuses. */
export function describeError(e: unknown): string {
  const body = (e as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const msg = (JSON.parse(body) as { message?: string }).message;
      if (msg) return `HTTP ${statusCode(e)}: ${msg}`;
    } catch {
      /* not JSON: fall through */
    }
  }
  if (body && typeof body === 'object' && 'message' in body) return `HTTP ${statusCode(e)}: ${String(body.message)}`;
  return e instanceof Error ? e.message : String(e);
}
