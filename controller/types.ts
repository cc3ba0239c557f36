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

/** One container's runtime info as the scanner reports it. */
export type ContainerInfo = Partial<Record<ScannerKey, string>>;
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
export type HashedInfo = Partial<Record<PublishedField, string>>;
/** namespace -> pod -> container id -> hashed info: what is published. */
export type HashedTree = Record<string, Record<string, Record<string, HashedInfo>>>;
