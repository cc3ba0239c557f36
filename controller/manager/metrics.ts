/**
 * The controller's Prometheus metrics (prom-client): its own counters, gauges and histograms plus Node.js's default
 * process metrics, in a registry of their own so that each controller (and each test) counts alone.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Runs last from seconds (a small cluster) to the scan and teardown timeouts of a large one. */
const RUN_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
/** A node reports within the scan timeout (5 minutes by default) once its pod started. */
const REPORT_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** One reconcile is a handful of API requests; publishing a large result takes longer. */
const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'containerscan_reconcile_total',
    help: 'Reconciles by result (ok, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'containerscan_reconcile_duration_seconds',
    help: 'Time one reconcile of a ContainerScan took, conflict retries included, by result (ok, error).',
    labelNames: ['result'] as const,
    buckets: RECONCILE_BUCKETS,
    registers: [this.registry],
  });
  readonly runsStarted = new Counter({
    name: 'containerscan_runs_started_total',
    help: 'Scan runs started, by scan (namespace/name).',
    labelNames: ['scan'] as const,
    registers: [this.registry],
  });
  readonly runsCompleted = new Counter({
    name: 'containerscan_runs_completed_total',
    help: 'Scan runs completed, by whether they had errors.',
    labelNames: ['errors'] as const,
    registers: [this.registry],
  });
  readonly runDuration = new Histogram({
    name: 'containerscan_run_duration_seconds',
    help: 'From the start of a run to its end (teardown included), by the phase it ended in (Completed, Failed).',
    labelNames: ['phase'] as const,
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  });
  readonly nodeReport = new Histogram({
    name: 'containerscan_node_report_seconds',
    help:
      "From the start of a run to the controller taking in a node's ScanResult, by its phase (Reported, Failed); " +
      'nodes that never report are counted in containerscan_nodes_failed_total.',
    labelNames: ['phase'] as const,
    buckets: REPORT_BUCKETS,
    registers: [this.registry],
  });
  readonly nodesFailed = new Counter({
    name: 'containerscan_nodes_failed_total',
    help: 'Nodes that failed or timed out in a run, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly published = new Gauge({
    name: 'containerscan_published_containers',
    help: 'Containers in the last published result, by scan.',
    labelNames: ['scan'] as const,
    registers: [this.registry],
  });
  readonly podsOmitted = new Counter({
    name: 'containerscan_pods_omitted_total',
    help: 'Pods left out of published results, each alone too large for a shard, by scan (namespace/name).',
    labelNames: ['scan'] as const,
    registers: [this.registry],
  });
  readonly publicationsFailed = new Counter({
    name: 'containerscan_publications_failed_total',
    help:
      'Runs whose result could not be published (the API server refused a write, or every pod was too large), ' +
      'by scan (namespace/name).',
    labelNames: ['scan'] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'containerscan_leader',
    help: '1 when this replica holds the leader lease.',
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'containerscan_queue_depth',
    help: 'Keys waiting in the work queue.',
    registers: [this.registry],
  });

  /** processMetrics: also Node.js's default metrics (process_*, nodejs_*: CPU, memory, event loop lag, GC). */
  constructor({ processMetrics = true }: { processMetrics?: boolean } = {}) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
