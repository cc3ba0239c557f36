#!/usr/bin/env node
/**
 * Entry point. `main.js controller` runs the ContainerScan controller; `main.js reporter` runs in the scanner
 * DaemonSet pod and writes that node's ScanResult status.
 */
import { runController } from './manager/main.js';
import { runReporter } from './reporter/main.js';
import { USAGE } from './util/cli.js';
import { log } from './util/log.js';

async function main(): Promise<number> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'reporter') return runReporter(rest);
  if (mode === 'controller' || mode === undefined) return runController(rest);
  process.stderr.write(`unknown mode ${JSON.stringify(mode)}\n${USAGE}\n`);
  return 64;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    log.error(e.message, { stack: e.stack });
    process.exit(1);
  },
);
