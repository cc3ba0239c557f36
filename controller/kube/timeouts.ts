/**
 * Bounded API requests. client-node sets no timeout of its own: a request whose connection hangs (an API server or
 * a network path that stops answering without closing it) would hold a reconcile forever. So every ordinary request
 * is aborted after a request timeout, and every watch, long-lived by design, asks the server to end it after
 * timeoutSeconds (with bookmarks, so a healthy watch is never silent longer) and is cut when its connection has
 * carried nothing for timeoutSeconds plus a margin.
 */
import type { Agent, ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  IsomorphicFetchHttpLibrary,
  Observable,
  ResponseContext,
  SelfDecodingBody,
  Watch,
  type HttpLibrary,
  type KubeConfig,
  type RequestContext,
} from '@kubernetes/client-node';

/** The whole of an ordinary request (connect, answer, body) by default. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** How long the server keeps a watch open by default (client-go's minimum watch timeout). */
export const DEFAULT_WATCH_TIMEOUT_MS = 300_000;
/** How much longer than its timeoutSeconds a watch may be silent before it is taken as hung. */
export const WATCH_IDLE_MARGIN_MS = 30_000;

export interface Timeouts {
  requestMs: number;
  watchMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  requestMs: DEFAULT_REQUEST_TIMEOUT_MS,
  watchMs: DEFAULT_WATCH_TIMEOUT_MS,
};

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** A request that got no complete answer within the request timeout. */
export class RequestTimeoutError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`API request timed out: ${method} ${new URL(url).pathname} got no answer within ${seconds(timeoutMs)}`);
    this.name = 'RequestTimeoutError';
  }
}

/**
 * client-node's fetch library with a deadline on each request, answer and body included. A signal the caller set
 * (e.g. leader election's renew deadline) still applies: whichever ends first aborts the request.
 */
export class TimeoutHttpLibrary implements HttpLibrary {
  private readonly inner = new IsomorphicFetchHttpLibrary();

  constructor(readonly timeoutMs: number) {}

  send(request: RequestContext): Observable<ResponseContext> {
    return new Observable(this.sendWithin(request));
  }

  private async sendWithin(request: RequestContext): Promise<ResponseContext> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.timeoutMs);
    const own = request.getSignal();
    request.setSignal(own ? AbortSignal.any([own, deadline.signal]) : deadline.signal);
    try {
      const res = await this.inner.send(request).toPromise();
      // Read the body here, under the same deadline: a server can hang in the middle of it as well.
      const body = await res.body.binary();
      return new ResponseContext(res.httpStatusCode, res.headers, new SelfDecodingBody(Promise.resolve(body)));
    } catch (e) {
      if (deadline.signal.aborted && !own?.aborted)
        throw new RequestTimeoutError(request.getHttpMethod(), request.getUrl(), this.timeoutMs);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A watch's connection that carried nothing for longer than its timeout and the margin. */
export class WatchIdleError extends Error {
  constructor(readonly idleMs: number) {
    super(`watch got no event or bookmark for ${seconds(idleMs)}; restarting it`);
    this.name = 'WatchIdleError';
  }
}

/**
 * Destroys each socket the agent makes once it has been idle (nothing read or written) for idleMs. Node does not
 * count a period in which a write is still queued (e.g. the request waiting behind a TLS handshake that gets no
 * answer), so a connection that hangs before it answers is cut after at most twice idleMs.
 */
function limitIdle(agent: Agent, idleMs: number): void {
  const create = agent.createConnection.bind(agent);
  const arm = (s: Duplex | null | undefined) => {
    if (s && 'setTimeout' in s && typeof s.setTimeout === 'function')
      (s as Duplex & { setTimeout: (ms: number, cb: () => void) => void }).setTimeout(idleMs, () =>
        s.destroy(new WatchIdleError(idleMs)),
      );
  };
  agent.createConnection = (options: ClientRequestArgs, callback?: (err: Error | null, s: Duplex) => void) => {
    let armed: Duplex | undefined;
    const socket = create(
      options,
      callback &&
        ((err, s) => {
          if (s && s !== armed) arm(s);
          callback(err, s);
        }),
    );
    if (socket) {
      armed = socket;
      arm(socket);
    }
    return socket;
  };
}

/**
 * client-node's Watch (also the one an informer uses), bounded: the server ends each watch after timeoutSeconds,
 * sends bookmarks, and a connection silent for longer than that plus a margin (the API server or the path to it
 * hangs, before or after answering) is destroyed, which ends the watch with a WatchIdleError for the caller to
 * start it again. Each watch gets its own agent from the KubeConfig, so no other request shares its sockets.
 */
export class BoundedWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly watchMs: number = DEFAULT_WATCH_TIMEOUT_MS,
    marginMs: number = WATCH_IDLE_MARGIN_MS,
  ) {
    const idleMs = watchMs + marginMs;
    const wrapped = Object.create(kc) as KubeConfig;
    wrapped.applyToFetchOptions = async (opts) => {
      const init = await kc.applyToFetchOptions(opts);
      if (!init.agent || typeof init.agent !== 'object')
        throw new Error('the kubeconfig gave a watch no agent to bound its connection with');
      limitIdle(init.agent, idleMs);
      return init;
    };
    super(wrapped);
  }

  override watch(...[path, queryParams, callback, done]: Parameters<Watch['watch']>): Promise<AbortController> {
    return super.watch(
      path,
      { ...queryParams, timeoutSeconds: Math.max(1, Math.round(this.watchMs / 1000)), allowWatchBookmarks: true },
      callback,
      done,
    );
  }
}
