/**
 * The scanner <-> controller contract is declared once, in contract/scan-tree.json. This test holds every other
 * place that states part of it to that file: the controller's constants, the ScanResult CRD's tree schema, and the
 * scanner's Rust constants and help text (read from the sources, so a scanner change that drifts fails here too;
 * the scanner's own cargo tests check the same from the Rust side).
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { loadYaml } from '@kubernetes/client-node';
import contract from '../../contract/scan-tree.json' with { type: 'json' };
import {
  CONTAINER_ID_PATTERN,
  MAX_RUNTIMES,
  MAX_VALUE_LENGTH,
  PUBLISHED_FIELDS,
  RUNTIMES_KEY,
  SCANNER_KEYS,
  VALUE_PATTERN,
} from '../../controller/api/scan-tree.js';
import { validateScan } from '../../controller/reporter/validate-scan.js';

const REPO = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(`${REPO}${path}`, 'utf8');
const KEYS = contract.keys.map((k) => k.key);

interface Schema {
  type?: string;
  description?: string;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema;
}

/** A Rust `const NAME: usize = N;` of a source file. */
function rustUsize(path: string, name: string): number {
  const m = new RegExp(`const ${name}: usize = (\\d+);`).exec(read(path));
  if (!m) throw new Error(`${path} declares no ${name}: usize`);
  return Number(m[1]);
}

/** The string literals of a Rust `const NAME: [&str; N] = [...]`. */
function rustStrings(path: string, name: string): string[] {
  const m = new RegExp(`const ${name}: \\[&str; \\d+\\] = \\[([^\\]]*)\\]`).exec(read(path));
  if (!m) throw new Error(`${path} declares no ${name} string array`);
  return [...m[1]!.matchAll(/"([^"]*)"/g)].map((s) => s[1]!);
}

describe('the scanner <-> controller contract (contract/scan-tree.json)', () => {
  it('is what the controller validates and publishes', () => {
    expect(SCANNER_KEYS).to.deep.equal(KEYS);
    // PUBLISHED_FIELDS is typed Record<ScannerKey, ...>: the compiler holds the ScannerKey type to its keys.
    expect(Object.keys(PUBLISHED_FIELDS)).to.deep.equal(KEYS);
    expect(RUNTIMES_KEY).to.equal(contract.runtimes.key);
    expect(MAX_RUNTIMES).to.equal(contract.runtimes.maxItems);
    expect(MAX_VALUE_LENGTH).to.equal(contract.value.maxLength);
    expect(VALUE_PATTERN.source).to.equal(contract.value.pattern);
    expect(contract.value.analyzerMaxLength).to.be.at.most(contract.value.maxLength);
  });

  it('decides what the reporter accepts: the longest value, the most runtimes, the id format', () => {
    const id = `containerd://${'ab'.repeat(contract.containerId.hexDigits / 2)}`;
    expect(CONTAINER_ID_PATTERN.test(id)).to.equal(true);
    expect(CONTAINER_ID_PATTERN.test(id.slice(0, -1))).to.equal(false);
    const scan = (info: object) => validateScan(Buffer.from(JSON.stringify({ shop: { web: { [id]: info } } })));
    const longest = 'v'.repeat(contract.value.maxLength);
    expect(scan({ [KEYS[0]!]: longest }).tree.shop?.web?.[id]).to.deep.equal({ [KEYS[0]!]: longest });
    expect(() => scan({ [KEYS[0]!]: `${longest}v` })).to.throw(`longer than ${contract.value.maxLength}`);
    const runtimes = Array.from({ length: contract.runtimes.maxItems }, (_, i) => ({ name: `r${i}` }));
    expect(scan({ 'runtime-name': 'r0', [RUNTIMES_KEY]: runtimes }).tree.shop?.web?.[id]?.runtimes).to.deep.equal(
      runtimes,
    );
    expect(() => scan({ 'runtime-name': 'r0', [RUNTIMES_KEY]: [...runtimes, { name: 'one more' }] })).to.throw(
      `more than ${contract.runtimes.maxItems} runtimes`,
    );
  });

  it('is the ScanResult CRD tree schema', () => {
    const crd = loadYaml<{ spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } }>(
      read('crds/scanresults.yaml'),
    );
    const tree = crd.spec.versions[0]!.schema.openAPIV3Schema.properties!.status!.properties!.tree!;
    const container = tree.additionalProperties!.additionalProperties!.additionalProperties!;
    expect(Object.keys(container.properties!)).to.deep.equal([...KEYS, contract.runtimes.key]);
    expect(container.description).to.include(`at most ${contract.value.maxLength} characters`);
    const valueRule = { type: 'string', maxLength: contract.value.maxLength, pattern: contract.value.pattern };
    for (const { key, description } of contract.keys)
      expect(container.properties![key], key).to.deep.equal({ ...valueRule, description });
    const runtimes = container.properties![contract.runtimes.key]!;
    expect(runtimes.type).to.equal('array');
    expect(runtimes.maxItems).to.equal(contract.runtimes.maxItems);
    expect(runtimes.description).to.equal(contract.runtimes.description);
    expect(runtimes.items!.required).to.deep.equal(contract.runtimes.required);
    expect(Object.keys(runtimes.items!.properties!)).to.deep.equal(contract.runtimes.fields);
    for (const [field, schema] of Object.entries(runtimes.items!.properties!))
      expect({ ...schema, description: undefined }, field).to.deep.equal({ ...valueRule, description: undefined });
  });

  it("is the coordinator's (scan-containers) keys, value rule and runtimes cap", () => {
    const answer = 'scanner/crates/scan-containers/src/answer.rs';
    expect(rustStrings(answer, 'CONTRACT_KEYS')).to.deep.equal(KEYS);
    expect(rustUsize(answer, 'MAX_VALUE_LEN')).to.equal(contract.value.maxLength);
    expect(rustUsize(answer, 'MAX_RUNTIMES')).to.equal(contract.runtimes.maxItems);
  });

  it("is the analyzer's (fingerprints) keys, runtimes cap and stricter value limit", () => {
    const lib = read('scanner/crates/fingerprints/src/lib.rs');
    const entries = /pub fn entries\(&self\)[\s\S]*?\.into_iter\(\)/.exec(lib);
    expect(entries, 'Fingerprint::entries in fingerprints/src/lib.rs').to.not.equal(null);
    expect([...entries![0].matchAll(/\("([a-z-]+)", &self\./g)].map((m) => m[1])).to.deep.equal(KEYS);
    expect(lib).to.include(`format!("${contract.runtimes.key}.{i}.name")`);
    expect(rustUsize('scanner/crates/fingerprints/src/lib.rs', 'MAX_RUNTIMES')).to.equal(contract.runtimes.maxItems);
    expect(rustUsize('scanner/crates/fingerprints/src/values.rs', 'MAX_LEN')).to.equal(
      contract.value.analyzerMaxLength,
    );
  });

  it("is what scan-containers' help promises", () => {
    const usage = /pub const USAGE: &str = "\\\n([\s\S]*?)";/.exec(read('scanner/crates/scan-containers/src/cli.rs'));
    expect(usage, 'USAGE in scan-containers/src/cli.rs').to.not.equal(null);
    const text = usage![1]!.replace(/\s+/g, ' ');
    expect(text).to.include(`{${KEYS.join(', ')}, ${contract.runtimes.key}:`);
    expect(text).to.include(`at most ${contract.runtimes.maxItems} {${contract.runtimes.fields.join(', ')}}`);
    expect(text).to.include(`at most ${contract.value.maxLength} characters`);
  });
});
