/**
 * Bounded API requests. client-node sets no timeout of its own: a request whose connection hangs (an API server or
 * a network path that stops answering without closing it) would hold a reconcile forever. So every ordinary request
 * is aborted after a request timeout, and every watch, long-lived by design, asks the server to end it after
 * timeoutSeconds (with bookmarks, so a healthy watch is never silent longer) and is cut when its connection has
 * carried nothing for timeoutSeconds plus a margin.
 */
import {
  IsomorphicFetchHttpLibrary,
  Observable,
  ResponseContext,
  SelfDecodingBody,
  Watch,
  type HttpLibrary,
  type KubeConfig,
  type RequestContext,
  type ResponseBody,
} from '@kubernetes/client-node';
import { retireAgent } from './connections.js';

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
      const body = await readAll(res.body);
      return new ResponseContext(res.httpStatusCode, res.headers, new SelfDecodingBody(Promise.resolve(body)));
    } catch (e) {
      if (deadline.signal.aborted && !own?.aborted) {
        retireAgent(request.getDispatcher());
        throw new RequestTimeoutError(request.getHttpMethod(), request.getUrl(), this.timeoutMs);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The whole body, as bytes. From its stream: client-node 2.0's fetch library has a binary() that calls a
 * node-fetch method undici's Response lacks.
 */
async function readAll(body: ResponseBody): Promise<Buffer> {
  const stream = body.stream();
  if (!stream) return body.binary();
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A watch's connection that carried nothing for longer than its timeout and the margin. */
export class WatchIdleError extends Error {
  constructor(readonly idleMs: number) {
    super(`watch got no event or bookmark for ${seconds(idleMs)}; restarting it`);
    this.name = 'WatchIdleError';
  }
}

/**
 * client-node's Watch (also the one an informer uses), bounded: the server ends each watch after timeoutSeconds and
 * sends bookmarks, and a watch whose connection carries nothing for longer than that plus a margin (the API server
 * or the path to it hangs, before or after answering) is aborted, which ends it with a WatchIdleError for the
 * caller to start it again, and retires the watch's agent (kube/connections.ts), whose connection may be hung.
 * client-node's Watch has that inactivity limit (30 s by default, too short for a quiet watch between bookmarks);
 * it is set here to timeoutSeconds plus the margin.
 */
export class BoundedWatch extends Watch {
  private readonly idleMs: number;
  /** The agent of the latest watch (one at a time per BoundedWatch), retired when that watch goes silent. */
  private readonly latest: { agent?: ReturnType<RequestContext['getDispatcher']> };

  constructor(
    kc: KubeConfig,
    private readonly watchMs: number = DEFAULT_WATCH_TIMEOUT_MS,
    marginMs: number = WATCH_IDLE_MARGIN_MS,
  ) {
    const latest: BoundedWatch['latest'] = {};
    const noting = Object.create(kc) as KubeConfig;
    noting.applySecurityAuthentication = async (ctx) => {
      await kc.applySecurityAuthentication(ctx);
      latest.agent = ctx.getDispatcher();
    };
    super(noting);
    this.latest = latest;
    this.idleMs = watchMs + marginMs;
    // A private field of client-node's Watch (2.x): the unit and integration tests of this class fail if it goes.
    const inner = this as unknown as { requestTimeoutMs?: unknown };
    if (typeof inner.requestTimeoutMs !== 'number')
      throw new Error("client-node's Watch has no requestTimeoutMs to bound a watch's silence with");
    inner.requestTimeoutMs = this.idleMs;
  }

  override watch(...[path, queryParams, callback, done]: Parameters<Watch['watch']>): Promise<AbortController> {
    return super.watch(
      path,
      { ...queryParams, timeoutSeconds: Math.max(1, Math.round(this.watchMs / 1000)), allowWatchBookmarks: true },
      callback,
      (err) => {
        if (!isTimeout(err)) return done(err);
        retireAgent(this.latest.agent);
        done(new WatchIdleError(this.idleMs));
      },
    );
  }
}

/** The abort client-node's Watch makes when its inactivity limit passes. */
const isTimeout = (e: unknown) => e instanceof Error && e.name === 'TimeoutError';
