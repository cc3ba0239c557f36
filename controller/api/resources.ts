import type { V1Toleration } from '@kubernetes/client-node';

export const GROUP = 'containerscanner.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const SCANS = 'containerscans';
export const RESULTS = 'scanresults';

/** Labels put on every object of a run, so that leftovers can be found and pruned. */
export const LABEL_SCAN = `${GROUP}/scan`;
export const LABEL_RUN = `${GROUP}/run`;
export const LABEL_COMPONENT = `${GROUP}/component`;
export const LABEL_NODE = `${GROUP}/node`;

/** Longest ContainerScan name: run names derive from it and must stay valid label values (63). */
export const MAX_SCAN_NAME = 40;

export interface ContainerScanSpec {
  schedule?: string;
  suspend?: boolean;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  readinessTimeout?: string;
  scanTimeout?: string;
  teardownTimeout?: string;
  historyLimit?: number;
  concurrency?: number;
}

export type ScanPhase = 'Pending' | 'Running' | 'TearingDown' | 'Completed' | 'Failed';
export type NodePhase = 'Pending' | 'Ready' | 'Reported' | 'Failed';

/** Why a node failed: also the reason of its Event and the key of status.failureCounts. */
export type FailureReason = 'NodeNotReady' | 'NodeTimedOut' | 'NodeFailed' | 'ReportRejected';

/** One targeted node. No error text here: 5000 of them must fit in the status (errors and Events carry the text). */
export interface NodeStatus {
  name: string;
  /** UID of the ScanResult the controller created for this node and run: only that object is merged. */
  scanResultUID?: string;
  phase: NodePhase;
  reason?: FailureReason;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** The result a run published (status.result). */
export interface PublishedResult {
  run: string;
  configMap: string;
  shards: number;
  containers: number;
  /** Pods left out of it, each alone too large for a shard (a pod is never split); absent when none. */
  omittedPods?: number;
  /** The first of them (namespace/pod); all are in the index's errors. */
  omittedPodNames?: string[];
}

export interface ContainerScanStatus {
  observedGeneration?: number;
  /** runSpecHash of the spec the last run started with. */
  specHash?: string;
  phase?: ScanPhase;
  runNumber?: number;
  run?: string;
  startTime?: string;
  completionTime?: string;
  teardownStartTime?: string;
  nextRunTime?: string;
  nodesDesired?: number;
  nodesReported?: number;
  nodesFailed?: number;
  containersScanned?: number;
  containersDetected?: number;
  result?: PublishedResult;
  nodes?: NodeStatus[];
  errors?: string[];
  failureCounts?: { reason: FailureReason; count: number }[];
  conditions?: Condition[];
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
}

export interface ContainerScan {
  apiVersion: typeof API_VERSION;
  kind: 'ContainerScan';
  metadata: ObjectMeta;
  spec: ContainerScanSpec;
  status?: ContainerScanStatus;
}

export interface ScanResultStatus {
  phase?: 'Pending' | 'Reported' | 'Failed';
  reportedAt?: string;
  startedAt?: string;
  durationMs?: number;
  duration?: string;
  containersFound?: number;
  containersScanned?: number;
  containersFailed?: number;
  containersDetected?: number;
  error?: string;
  failures?: { namespace: string; pod: string; id: string; error: string }[];
  tree?: import('./scan-tree.js').RuntimeTree;
}

export interface ScanResult {
  apiVersion: typeof API_VERSION;
  kind: 'ScanResult';
  metadata: ObjectMeta & { ownerReferences?: { uid: string }[] };
  spec: { scan: string; run: string; node: string };
  status?: ScanResultStatus;
}
