/**
 * Checks on a published result as its consumers see it: the JSON Schemas of docs/ on the index and the shard
 * content, and the Go reader (reader/, built by hack/test-integration as $CS_READ_RESULT) reading it from the API.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { INDEX_KEY, SHARD_KEY } from '../../controller/publish/publish.js';
import type { HashedTree } from '../../controller/api/scan-tree.js';
import { REPO } from './helpers.js';

const ajv = new Ajv2020({ strict: true, allErrors: true });
const schema = (file: string) => ajv.compile(JSON.parse(readFileSync(join(REPO, 'docs', file), 'utf8')) as object);
const indexSchema = schema('result-index.schema.json');
const shardSchema = schema('result-shard.schema.json');

/** Schema violations of an index ConfigMap and of its shard ConfigMaps' content (empty when all conform). */
export function schemaViolations(index: V1ConfigMap, shards: V1ConfigMap[]): string[] {
  const problems: string[] = [];
  const check = (what: string, validate: typeof indexSchema, doc: unknown) => {
    if (!validate(doc)) problems.push(`${what}: ${ajv.errorsText(validate.errors)}`);
  };
  check(`${index.metadata?.name} ${INDEX_KEY}`, indexSchema, JSON.parse(index.data?.[INDEX_KEY] ?? 'null'));
  for (const s of shards)
    check(
      `${s.metadata?.name} ${SHARD_KEY}`,
      shardSchema,
      JSON.parse(gunzipSync(Buffer.from(s.binaryData?.[SHARD_KEY] ?? '', 'base64')).toString('utf8')),
    );
  return problems;
}

export interface GoReaderResult {
  scan: string;
  run: string;
  completedAt: string;
  containers: HashedTree;
  errors: string[] | null;
}

/** What the Go reader returns for a scan, read from the API server of $KUBECONFIG. */
export function goRead(namespace: string, scan: string): GoReaderResult {
  const bin = process.env.CS_READ_RESULT;
  if (!bin)
    throw new Error(
      'CS_READ_RESULT is not set: run this suite through hack/test-integration, which builds the Go reader',
    );
  return JSON.parse(
    execFileSync(bin, ['-namespace', namespace, '-scan', scan], { encoding: 'utf8' }),
  ) as GoReaderResult;
}

/** The published tree in the gatherer's shape: name/version (the seed's draft keys) are not part of it. */
export function gathererShape(tree: HashedTree): HashedTree {
  const out: HashedTree = {};
  for (const [ns, pods] of Object.entries(tree))
    for (const [pod, ids] of Object.entries(pods))
      for (const [id, info] of Object.entries(ids)) {
        const { name: _n, version: _v, ...rest } = info;
        ((out[ns] ??= {})[pod] ??= {})[id] = rest;
      }
  return out;
}
