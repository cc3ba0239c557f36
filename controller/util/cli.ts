import { parseDuration } from './duration.js';

/** What both programs share on their command line: the usage text, required environment, numbers, signals. */
export const USAGE = `usage:
  main.js controller [--port 8080] [--concurrency 4] [--no-leader-elect]
                     [--lease-duration 15s] [--renew-deadline 10s] [--retry-period 2s]
                     [--request-timeout 30s] [--watch-timeout 5m]
      env: POD_NAMESPACE (or WATCH_NAMESPACE), SCANNER_IMAGE, REPORTER_IMAGE, REPORTER_SERVICE_ACCOUNT, POD_NAME
  main.js reporter --scan /scan/scan.json --report /scan/report.json [--once] [--max-scan-bytes N]
                   [--request-timeout 30s]
      env: NODE_NAME, POD_NAMESPACE, RUN`;

export function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required\n${USAGE}`);
  return v;
}

export function positiveInt(text: string | undefined, what: string, dflt: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${what} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** A duration flag ("30s", "5m") in milliseconds, positive; dflt when absent; a clear error naming the flag. */
export function flagDuration(text: string | undefined, flag: string, dflt: number): number {
  if (text === undefined) return dflt;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    throw new Error(`--${flag}: ${(e as Error).message}`, { cause: e });
  }
  if (ms <= 0) throw new Error(`--${flag} must be positive, got ${JSON.stringify(text)}`);
  return ms;
}

/** Resolves on SIGTERM or SIGINT. */
export function terminated(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}
