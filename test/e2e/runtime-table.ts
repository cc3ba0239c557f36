// The runtimes suite's table: each image folder test/e2e/images/rt-<name>/ declares, in workloads.json, the
// containers to run from its image and the entry the scanner must report for each. Adding a runtime to the
// suite is a new folder (its `build` recipe and its workloads.json); the suite itself does not change.
// Expected versions are never typed: `{key}` is replaced by the fact `key` the image's recipe recorded from its
// artifact ($RT_FACTS_DIR/<image>.facts). Literal strings are only the names the contract promises ("Redis").
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { repoRoot } from './harness.js';

export const imagesDir = join(repoRoot, 'test', 'e2e', 'images');

export type Entry = Record<string, string>;
export type Runtimes = { name: string; version?: string }[];

export interface Workload {
  /** The test's title: what runs and where the expected values come from. */
  title: string;
  image: string;
  ns: string;
  pod: string;
  container: string;
  /** The log line that says the real server is up (a regex); null: nothing to wait for. */
  ready: RegExp | null;
  command?: string[];
  env?: Record<string, string>;
  /** The container's seven keys, exactly, as templates; absent: a test of the suite's own checks the entry. */
  expect?: Entry;
  /** The whole ordered `runtimes` list, as templates; absent: only runtimes[0] is checked (against runtime-name). */
  runtimes?: Runtimes;
}

const workloadKeys = new Set(['title', 'ns', 'pod', 'container', 'ready', 'command', 'env', 'expect', 'runtimes']);

function fail(file: string, message: string): never {
  throw new Error(`${file}: ${message}`);
}

function stringRecord(file: string, where: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(file, `${where} must be an object`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(file, `${where}.${k} must be a string`);
  }
  return value as Record<string, string>;
}

function parseWorkload(file: string, image: string, index: number, raw: unknown): Workload {
  const where = `workloads[${index}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, `${where} must be an object`);
  const w = raw as Record<string, unknown>;
  const unknown = Object.keys(w).filter((k) => !workloadKeys.has(k));
  if (unknown.length) fail(file, `${where} has unknown keys ${unknown.join(', ')}`);
  for (const key of ['title', 'ns', 'pod', 'container'] as const) {
    if (typeof w[key] !== 'string' || w[key] === '') fail(file, `${where}.${key} must be a non-empty string`);
  }
  if (w.ready !== null && typeof w.ready !== 'string') fail(file, `${where}.ready must be a regex string or null`);
  const command = w.command;
  if (command !== undefined && (!Array.isArray(command) || command.some((c) => typeof c !== 'string'))) {
    fail(file, `${where}.command must be a list of strings`);
  }
  const runtimes = w.runtimes;
  if (runtimes !== undefined) {
    if (!Array.isArray(runtimes) || runtimes.length === 0) fail(file, `${where}.runtimes must be a non-empty list`);
    runtimes.forEach((r, i) => {
      const rec = stringRecord(file, `${where}.runtimes[${i}]`, r);
      if (!rec.name || Object.keys(rec).some((k) => k !== 'name' && k !== 'version')) {
        fail(file, `${where}.runtimes[${i}] must be {name, version?}`);
      }
    });
  }
  return {
    title: w.title as string,
    image,
    ns: w.ns as string,
    pod: w.pod as string,
    container: w.container as string,
    ready: typeof w.ready === 'string' ? new RegExp(w.ready) : null,
    ...(command === undefined ? {} : { command: command as string[] }),
    ...(w.env === undefined ? {} : { env: stringRecord(file, `${where}.env`, w.env) }),
    ...(w.expect === undefined ? {} : { expect: stringRecord(file, `${where}.expect`, w.expect) }),
    ...(runtimes === undefined ? {} : { runtimes: runtimes as Runtimes }),
  };
}

/** Every image folder that declares workloads, in name order. */
export function tableImages(): string[] {
  return readdirSync(imagesDir)
    .filter((name) => name.startsWith('rt-') && existsSync(join(imagesDir, name, 'workloads.json')))
    .sort();
}

/**
 * The images a run selects: every image of the table, or those named in RUNTIMES (comma-separated, with or
 * without the `rt-` prefix: `RUNTIMES=node,python`). An unknown name is an error, not an empty run.
 */
export function selectedImages(runtimes = process.env.RUNTIMES): string[] {
  const all = tableImages();
  if (!runtimes) return all;
  const wanted = runtimes
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .map((n) => (n.startsWith('rt-') ? n : `rt-${n}`));
  const unknown = wanted.filter((n) => !all.includes(n));
  if (unknown.length) {
    throw new Error(`RUNTIMES names ${unknown.join(', ')}, which the table lacks; it has ${all.join(', ')}`);
  }
  return all.filter((n) => wanted.includes(n));
}

/** The workloads of the given images, as their workloads.json files declare them. */
export function loadWorkloads(images: string[]): Workload[] {
  const workloads: Workload[] = [];
  for (const image of images) {
    const file = join(imagesDir, image, 'workloads.json');
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      fail(file, `not valid JSON: ${(err as Error).message}`);
    }
    const list = (parsed as { workloads?: unknown })?.workloads;
    if (!Array.isArray(list) || list.length === 0) fail(file, 'must be {"workloads": [ ... ]} with at least one');
    list.forEach((raw, i) => workloads.push(parseWorkload(file, image, i, raw)));
  }
  const seen = new Set<string>();
  for (const w of workloads) {
    const key = `${w.ns}/${w.pod}/${w.container}`;
    if (seen.has(key)) throw new Error(`two workloads declare the container ${key}`);
    seen.add(key);
  }
  return workloads;
}

/** `template` with each `{key}` replaced by the fact `key`; a fact the recipe did not record is an error. */
export function fill(template: string, fact: (key: string) => string): string {
  return template.replace(/\{([^{}]+)\}/g, (_, key: string) => fact(key));
}

export function fillEntry(entry: Entry, fact: (key: string) => string): Entry {
  return Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, fill(v, fact)]));
}

export function fillRuntimes(runtimes: Runtimes, fact: (key: string) => string): Runtimes {
  return runtimes.map((r) => ({
    name: fill(r.name, fact),
    ...(r.version === undefined ? {} : { version: fill(r.version, fact) }),
  }));
}
