/**
 * The scanner <-> controller contract, declared once in contract/scan-tree.json: the keys, the `runtimes` list and
 * its cap, the rule for every value and the container id format. The constants below come from that file; tests
 * hold the scanner's Rust constants, its help text and the ScanResult CRD to it (test/unit/contract.test.ts).
 */
import contract from '../../contract/scan-tree.json' with { type: 'json' };

/**
 * A key the node scanner writes for each container (clear text, each optional). The type spells the keys out for
 * the compiler; PUBLISHED_FIELDS below must name exactly these, and the contract test checks them against the file.
 */
export type ScannerKey =
  | 'os-release-id'
  | 'os-release-version-id'
  | 'runtime-kind'
  | 'runtime-kind-version'
  | 'runtime-kind-implementer'
  | 'runtime-name'
  | 'runtime-version';
/** The keys in the contract's order. */
export const SCANNER_KEYS: readonly ScannerKey[] = contract.keys.map((k) => k.key as ScannerKey);
/** The key of the ordered list of frameworks and servers. */
export const RUNTIMES_KEY: 'runtimes' = contract.runtimes.key as 'runtimes';
/** Most runtimes kept per container (the scanner's cap; the ScanResult CRD's maxItems says the same). */
export const MAX_RUNTIMES: number = contract.runtimes.maxItems;
/**
 * The rule for every value: printable ASCII (values end up in logs, YAML and hashes), at most MAX_VALUE_LENGTH
 * characters, as the scanner's coordinator enforces it. The analyzer's own values are stricter still
 * (contract.value.analyzerMaxLength); the reporter and the controller hold the scanner to the coordinator's rule.
 */
export const MAX_VALUE_LENGTH: number = contract.value.maxLength;
export const VALUE_PATTERN = new RegExp(contract.value.pattern);
/** `<scheme>://<64 hex>`, as kubelet names containers. */
export const CONTAINER_ID_PATTERN = new RegExp(
  `^${contract.containerId.schemePattern}://[0-9a-f]{${contract.containerId.hexDigits}}$`,
);

/** One framework or server of a container. */
export interface Runtime {
  name: string;
  version?: string;
}
/**
 * One container's runtime info as the scanner reports it: the seven keys, plus `runtimes`, every framework and
 * server in order (the first is runtime-name/runtime-version).
 */
export type ContainerInfo = Partial<Record<ScannerKey, string>> & { runtimes?: Runtime[] };
/** namespace -> pod name -> "<scheme>://<id>" -> info: the scanner's scan.json. */
export type RuntimeTree = Record<string, Record<string, Record<string, ContainerInfo>>>;

/** Field names published for the workloads gatherer (its workloadRuntimeInfoContainer). */
export const PUBLISHED_FIELDS: Record<ScannerKey, PublishedField> = {
  'os-release-id': 'os',
  'os-release-version-id': 'osVersion',
  'runtime-kind': 'kind',
  'runtime-kind-version': 'kindVersion',
  'runtime-kind-implementer': 'kindImplementer',
  'runtime-name': 'name',
  'runtime-version': 'version',
};
export type PublishedField = 'os' | 'osVersion' | 'kind' | 'kindVersion' | 'kindImplementer' | 'name' | 'version';
/**
 * One published container: the gatherer's workloadRuntimeInfoContainer (os ... kindImplementer, runtimes) and the
 * seed's draft struct (name/version = the first runtime), every value hashed.
 */
export type HashedInfo = Partial<Record<PublishedField, string>> & { runtimes?: Runtime[] };
/** namespace -> pod -> container id -> hashed info: what is published. */
export type HashedTree = Record<string, Record<string, Record<string, HashedInfo>>>;
