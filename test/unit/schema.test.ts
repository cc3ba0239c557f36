/**
 * The CRDs as `kubectl explain` shows them: every kind and every field has a description. The walk covers nested
 * objects, array items and map values (ObjectMeta is documented by the API server itself).
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { loadAllYaml } from '@kubernetes/client-node';

const REPO = new URL('../../', import.meta.url).pathname;

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
}

/** Paths of schema nodes without a description. */
function undocumented(s: Schema, path: string, out: string[]): string[] {
  if (!s.description) out.push(path);
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    if (path === '' && k === 'metadata') continue;
    undocumented(v, `${path}.${k}`, out);
  }
  if (s.items) undocumented(s.items, `${path}[]`, out);
  if (s.additionalProperties && typeof s.additionalProperties === 'object')
    undocumented(s.additionalProperties, `${path}{}`, out);
  return out;
}

function count(s: Schema): number {
  let n = 1;
  for (const v of Object.values(s.properties ?? {})) n += count(v);
  if (s.items) n += count(s.items);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') n += count(s.additionalProperties);
  return n;
}

for (const file of ['containerscans.yaml', 'scanresults.yaml']) {
  describe(`crds/${file} schema`, () => {
    const crd = loadAllYaml(readFileSync(`${REPO}crds/${file}`, 'utf8'))[0] as {
      spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
    };
    for (const v of crd.spec.versions) {
      it(`${v.name}: the kind and every field have a description`, () => {
        const root = v.schema.openAPIV3Schema;
        expect(count(root)).to.be.above(20);
        expect(undocumented(root, '', []).map((p) => p || '(the kind)')).to.deep.equal([]);
      });
    }
  });
}
