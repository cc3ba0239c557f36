/** Keys the node scanner writes for each container (clear text, each optional). */
export const SCANNER_KEYS = [
  'os-release-id',
  'os-release-version-id',
  'runtime-kind',
  'runtime-kind-version',
  'runtime-kind-implementer',
  'runtime-name',
  'runtime-version',
] as const;
export type ScannerKey = (typeof SCANNER_KEYS)[number];

/** Most runtimes kept per container (the scanner's cap; the ScanResult CRD's maxItems says the same). */
export const MAX_RUNTIMES = 4;
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
