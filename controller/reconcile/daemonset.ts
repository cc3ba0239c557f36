import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadYaml, type V1DaemonSet, type V1OwnerReference } from '@kubernetes/client-node';
import { LABEL_COMPONENT, LABEL_RUN, LABEL_SCAN, type ContainerScan } from '../api/resources.js';
import { daemonSetName } from '../api/names.js';

/**
 * Where the template is looked for: $SCANNER_TEMPLATE, then controller/scanner-daemonset.yaml beside the sources or,
 * from the build output dist/controller/reconcile/, in the source tree (the image keeps the same layout under /app).
 */
export function templatePath(): string {
  const candidates = [
    process.env.SCANNER_TEMPLATE,
    fileURLToPath(new URL('../scanner-daemonset.yaml', import.meta.url)),
    fileURLToPath(new URL('../../../controller/scanner-daemonset.yaml', import.meta.url)),
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new Error(`scanner DaemonSet template not found (tried ${candidates.join(', ')}); set SCANNER_TEMPLATE`);
  return found;
}

export function loadTemplate(path = templatePath()): V1DaemonSet {
  const ds = loadYaml<V1DaemonSet>(readFileSync(path, 'utf8'));
  const spec = ds?.spec?.template?.spec;
  if (ds?.kind !== 'DaemonSet' || !spec) throw new Error(`${path} is not a DaemonSet`);
  if (!spec.initContainers?.some((c) => c.name === 'scanner'))
    throw new Error(`${path}: no initContainer named "scanner"`);
  if (!spec.containers.some((c) => c.name === 'reporter')) throw new Error(`${path}: no container named "reporter"`);
  return ds;
}

export interface Images {
  scanner: string;
  reporter: string;
}

export function runLabels(scan: string, run: string, component: string): Record<string, string> {
  return {
    [LABEL_SCAN]: scan,
    [LABEL_RUN]: run,
    [LABEL_COMPONENT]: component,
    'app.kubernetes.io/name': 'container-scanner',
    'app.kubernetes.io/managed-by': 'containerscan-controller',
  };
}

export function ownerRef(scan: ContainerScan): V1OwnerReference {
  return {
    apiVersion: scan.apiVersion,
    kind: scan.kind,
    name: scan.metadata.name,
    uid: scan.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The DaemonSet of one run, from the template. */
export function renderDaemonSet(template: V1DaemonSet, scan: ContainerScan, run: string, images: Images): V1DaemonSet {
  const ds = structuredClone(template);
  const labels = runLabels(scan.metadata.name, run, 'scanner');
  ds.metadata = {
    ...ds.metadata,
    name: daemonSetName(run),
    namespace: scan.metadata.namespace,
    labels: { ...ds.metadata?.labels, ...labels },
    ownerReferences: [ownerRef(scan)],
  };
  const spec = ds.spec!;
  spec.selector = { matchLabels: { [LABEL_RUN]: run, [LABEL_COMPONENT]: 'scanner' } };
  spec.template.metadata = { ...spec.template.metadata, labels: { ...spec.template.metadata?.labels, ...labels } };
  const pod = spec.template.spec!;
  if (scan.spec.nodeSelector) pod.nodeSelector = { ...pod.nodeSelector, ...scan.spec.nodeSelector };
  if (scan.spec.tolerations) pod.tolerations = [...(pod.tolerations ?? []), ...scan.spec.tolerations];
  if (pod.priorityClassName === '') delete pod.priorityClassName;
  for (const c of pod.initContainers ?? []) {
    if (c.name !== 'scanner') continue;
    c.image = images.scanner;
    if (scan.spec.concurrency) c.command = [...(c.command ?? []), '--concurrency', String(scan.spec.concurrency)];
  }
  for (const c of pod.containers) {
    if (c.name !== 'reporter') continue;
    c.image = images.reporter;
    c.env = [...(c.env ?? []).filter((e) => e.name !== 'RUN'), { name: 'RUN', value: run }];
  }
  return ds;
}
