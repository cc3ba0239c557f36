/** A minimal Prometheus text-format registry: counters and gauges with labels, enough for the controller. */
type Labels = Record<string, string>;

class Family {
  readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {}
  private key(labels: Labels): string {
    return Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(',');
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = this.key(labels);
    const cur = this.values.get(k) ?? { labels, value: 0 };
    cur.value += by;
    this.values.set(k, cur);
  }
  set(value: number, labels: Labels = {}): void {
    this.values.set(this.key(labels), { labels, value });
  }
  render(): string {
    const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.values.values()) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${esc(v)}"`)
        .join(',');
      lines.push(`${this.name}${l ? `{${l}}` : ''} ${value}`);
    }
    return lines.join('\n');
  }
}

export class Metrics {
  readonly reconciles = new Family('containerscan_reconcile_total', 'Reconciles by result (ok, error).', 'counter');
  readonly runsStarted = new Family('containerscan_runs_started_total', 'Scan runs started.', 'counter');
  readonly runsCompleted = new Family(
    'containerscan_runs_completed_total',
    'Scan runs completed, by whether they had errors.',
    'counter',
  );
  readonly nodesFailed = new Family(
    'containerscan_nodes_failed_total',
    'Nodes that failed or timed out in a run, by reason.',
    'counter',
  );
  readonly published = new Family(
    'containerscan_published_containers',
    'Containers in the last published result, by scan.',
    'gauge',
  );
  readonly leader = new Family('containerscan_leader', '1 when this replica holds the leader lease.', 'gauge');
  readonly queueDepth = new Family('containerscan_queue_depth', 'Keys waiting in the work queue.', 'gauge');

  render(): string {
    return (
      [
        this.reconciles,
        this.runsStarted,
        this.runsCompleted,
        this.nodesFailed,
        this.published,
        this.leader,
        this.queueDepth,
      ]
        .map((f) => f.render())
        .join('\n') + '\n'
    );
  }
}
