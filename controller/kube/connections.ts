/**
 * Connections to the API server that are reused. client-node 2.x gives every request (and every watch) a new undici
 * Agent from the KubeConfig, so no connection is ever reused: each request pays a TCP connect and a TLS handshake,
 * and each agent's socket stays open until its keep-alive runs out. The KubeConfig made here hands every request
 * one agent (undici's pool, keep-alive) for as long as the TLS identity it was made for stays the same: server,
 * proxy, CA, client certificate and key and the TLS options, as the kubeconfig (or its exec plugin) gives them at
 * the time of the request. A rotated certificate gets a new agent; the old one closes once its requests are done.
 *
 * undici speaks HTTP/2 when the server offers it, as the API server does: then one connection carries every request
 * and watch. A connection that hangs without closing would stall them all, and new ones too, until TCP gave up on
 * it; so a request that times out or a watch that goes silent retires its agent (retireAgent): the next request
 * gets a new agent and connection, and the old agent closes once the requests on it have ended or timed out.
 */
import { createHash } from 'node:crypto';
import type { RequestOptions } from 'node:https';
import type { KubeConfig, RequestContext } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

const shared = new WeakSet<KubeConfig>();
/** How to stop handing out each shared agent. */
const retirers = new WeakMap<Dispatcher, () => void>();
/** How long a retired agent's requests get to end before its connections are destroyed. */
const RETIRED_GRACE_MS = 60_000;

/**
 * Stops handing out the agent a request or watch ran on, because it timed out or went silent: its connection may
 * be hung. Does nothing for an agent that is not shared or already retired.
 */
export function retireAgent(agent: Dispatcher | undefined): void {
  if (agent) retirers.get(agent)?.();
}

/** Closes an agent once its requests have ended, and destroys it (connections included) after a grace period. */
function closeAgent(agent: Dispatcher): void {
  agent.close().catch(() => undefined);
  setTimeout(() => void agent.destroy().catch(() => undefined), RETIRED_GRACE_MS).unref();
}

/** A KubeConfig whose requests share one agent per TLS identity; `kc` itself is left as it is. */
export function shareConnections(kc: KubeConfig): KubeConfig {
  if (shared.has(kc)) return kc;
  let current: { identity: string; agent: Dispatcher } | undefined;
  const wrapped = Object.create(kc) as KubeConfig;
  wrapped.applySecurityAuthentication = async (ctx) => {
    await kc.applySecurityAuthentication(ctx); // headers (tokens may change) and a new agent, not connected yet
    const made = ctx.getDispatcher();
    if (!made) return; // plain HTTP without TLS options: fetch's global agent, which pools already
    const identity = await tlsIdentity(kc);
    if (current?.identity === identity) {
      ctx.setDispatcher(current.agent);
      return;
    }
    const previous = current?.agent;
    const entry = { identity, agent: made };
    current = entry;
    retirers.set(made, () => {
      if (current !== entry) return;
      current = undefined;
      closeAgent(made);
    });
    // Requests still running on the previous agent finish; then its connections close.
    if (previous) {
      retirers.delete(previous);
      closeAgent(previous);
    }
  };
  shared.add(wrapped);
  return wrapped;
}

/** A digest of what the agent's connections are made with. */
async function tlsIdentity(kc: KubeConfig): Promise<string> {
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const cluster = kc.getCurrentCluster();
  const hash = createHash('sha256');
  for (const part of [
    cluster?.server,
    cluster?.proxyUrl,
    opts.ca,
    opts.cert,
    opts.key,
    opts.pfx,
    opts.passphrase,
    opts.rejectUnauthorized,
    opts.servername,
  ])
    hash.update(serialize(part)).update('\0');
  return hash.digest('hex');
}

function serialize(v: unknown): string {
  if (Buffer.isBuffer(v)) return `b:${v.toString('base64')}`;
  if (Array.isArray(v)) return `[${v.map(serialize).join(',')}]`;
  return JSON.stringify(v ?? null);
}
