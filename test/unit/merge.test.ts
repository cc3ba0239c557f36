import { expect } from 'chai';
import {
  hashInfo,
  MAX_MERGE_WARNINGS,
  mergeTrees,
  SHARED_INFO_CACHE_BYTES,
  TreeMerger,
} from '../../controller/reconcile/merge.js';
import type { ContainerInfo } from '../../controller/api/scan-tree.js';

const JAVA = 'containerd://' + 'a'.repeat(64);
const GO = 'cri-o://' + 'b'.repeat(64);

describe('mergeTrees', () => {
  it('hashes every value under the published names and keeps keys clear (the enhancement example)', () => {
    const { tree, containers, warnings } = mergeTrees([
      {
        node: 'worker-1',
        tree: {
          shop: {
            'cart-7d9': {
              [JAVA]: {
                'os-release-id': 'rhel',
                'os-release-version-id': '8.8',
                'runtime-kind': 'Java',
                'runtime-kind-version': '17.0.7',
                'runtime-kind-implementer': 'Red Hat, Inc.',
                'runtime-name': 'Quarkus',
                'runtime-version': '2.13.8.Final-redhat-00004',
              },
            },
          },
        },
      },
    ]);
    expect(containers).to.equal(1);
    expect(warnings).to.deep.equal([]);
    expect(tree).to.deep.equal({
      shop: {
        'cart-7d9': {
          [JAVA]: {
            os: 'yqx1WBefoIAq',
            osVersion: 'AQN-qh_OyRUA',
            kind: 'wbpgzhNYZQOi',
            kindVersion: 'cAsoUDy8JFNV',
            kindImplementer: 'DzP5-GS6tDOQ',
            name: 'zBVuVhrrC_vC',
            version: 'lyAE7Oh63WPU',
            runtimes: [{ name: 'zBVuVhrrC_vC', version: 'lyAE7Oh63WPU' }],
          },
        },
      },
    });
  });

  it('publishes both shapes: every runtime in order under runtimes, the first also as name/version', () => {
    // Spring Boot 3.15.1 with its embedded Tomcat 10.0 (values from the vectors table).
    const info: ContainerInfo = {
      'runtime-kind': 'Java',
      'runtime-name': 'Spring Boot',
      'runtime-version': '3.15.1',
      runtimes: [
        { name: 'Spring Boot', version: '3.15.1' },
        { name: 'Apache Tomcat', version: '10.0' },
      ],
    };
    expect(hashInfo(info)).to.deep.equal({
      kind: 'wbpgzhNYZQOi',
      name: 'jZqA-x3DCkbL',
      version: 'eiP6Wt79lYex',
      runtimes: [
        { name: 'jZqA-x3DCkbL', version: 'eiP6Wt79lYex' },
        { name: '5IjjS6fBvX9o', version: '8eQgGa7MhY_7' },
      ],
    });
    // A runtime without a version has no version key; nothing detected gives no runtimes at all.
    expect(hashInfo({ 'runtime-name': 'Quarkus', runtimes: [{ name: 'Quarkus' }] })).to.deep.equal({
      name: 'zBVuVhrrC_vC',
      runtimes: [{ name: 'zBVuVhrrC_vC' }],
    });
    expect(hashInfo({ 'runtime-kind': 'Python' })).to.deep.equal({ kind: 'GIhfJ7WvkBLf' });
  });

  it('leaves out absent and empty values, and ignores keys it does not know', () => {
    expect(
      hashInfo({
        'os-release-id': 'debian',
        'os-release-version-id': '',
        'runtime-kind': 'Golang',
        extra: 'x',
      } as ContainerInfo),
    ).to.deep.equal({
      os: 'gdk3V0V_mIUj',
      kind: 'UOVueXxKyJ95',
    });
    expect(hashInfo({})).to.deep.equal({});
  });

  it('merges several nodes into one tree, namespaces and pods spanning nodes', () => {
    const { tree, containers } = mergeTrees([
      { node: 'b', tree: { ns1: { p2: { [GO]: { 'runtime-kind': 'Golang' } } } } },
      {
        node: 'a',
        tree: {
          ns1: { p1: { [JAVA]: { 'runtime-kind': 'Java' } } },
          ns2: { p3: { [GO]: { 'os-release-id': 'alpine' } } },
        },
      },
    ]);
    expect(containers).to.equal(3);
    expect(Object.keys(tree).sort()).to.deep.equal(['ns1', 'ns2']);
    expect(tree.ns1?.p1?.[JAVA]).to.deep.equal({ kind: 'wbpgzhNYZQOi' });
    expect(tree.ns1?.p2?.[GO]).to.deep.equal({ kind: 'UOVueXxKyJ95' });
    expect(tree.ns2?.p3?.[GO]).to.deep.equal({ os: 'VMWz3UWdXvd4' });
  });

  it('keeps the first node (by name) when two nodes report the same container, whatever the order', () => {
    const one = { node: 'node-a', tree: { ns: { p: { [JAVA]: { 'runtime-kind': 'Java' } } } } };
    const two = { node: 'node-b', tree: { ns: { p: { [JAVA]: { 'runtime-kind': 'Golang' } } } } };
    for (const order of [
      [one, two],
      [two, one],
    ]) {
      const { tree, containers, warnings } = mergeTrees(order);
      expect(containers).to.equal(1);
      expect(tree.ns?.p?.[JAVA]).to.deep.equal({ kind: 'wbpgzhNYZQOi' });
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.contain('node-a').and.contain('node-b');
    }
  });
});

describe('TreeMerger', () => {
  const tree = (kind: string) => ({ ns: { p: { [JAVA]: { 'runtime-kind': kind } } } });

  it('gives the same result whatever order the nodes come in, one tree at a time', () => {
    const nodes = ['node-c', 'node-a', 'node-b'];
    const results = [nodes, [...nodes].reverse(), [...nodes].sort()].map((order) => {
      const m = new TreeMerger();
      for (const n of order) m.add(n, tree(n === 'node-a' ? 'Java' : 'Golang'));
      return m.result();
    });
    for (const r of results) {
      expect(r.containers).to.equal(1);
      expect(r.tree.ns?.p?.[JAVA]).to.deep.equal({ kind: 'wbpgzhNYZQOi' });
      expect(r.warnings).to.have.length(2);
      for (const w of r.warnings) expect(w).to.match(/kept node-a$/);
    }
  });

  it('keeps at most MAX_MERGE_WARNINGS warnings and counts the rest', () => {
    const m = new TreeMerger();
    const ids = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`containerd://${i.toString(16).padStart(64, '0')}`, {}]));
    m.add('a', { ns: { p: ids(MAX_MERGE_WARNINGS + 50) } });
    m.add('b', { ns: { p: ids(MAX_MERGE_WARNINGS + 50) } });
    const r = m.result();
    expect(r.containers).to.equal(MAX_MERGE_WARNINGS + 50);
    expect(r.warnings).to.have.length(MAX_MERGE_WARNINGS + 1);
    expect(r.warnings.at(-1)).to.equal('50 more containers reported by more than one node');
  });

  const id = (i: number) => `containerd://${i.toString(16).padStart(64, '0')}`;

  it('shares one frozen hashed object between containers of equal values, and only between those', () => {
    const java = { 'runtime-kind': 'Java', runtimes: [{ name: 'Quarkus', version: '3.8.4' }] };
    const m = new TreeMerger();
    m.add('a', { ns: { p1: { [id(1)]: structuredClone(java), [id(2)]: { 'runtime-kind': 'Golang' } } } });
    m.add('b', { ns: { p2: { [id(3)]: structuredClone(java) } } });
    // The same values in another order of runtimes are another published value.
    m.add('c', { ns: { p3: { [id(4)]: { ...java, runtimes: [{ name: '3.8.4', version: 'Quarkus' }] } } } });
    const { tree, containers } = m.result();
    expect(containers).to.equal(4);
    const one = tree.ns?.p1?.[id(1)];
    expect(one).to.deep.equal(hashInfo(java));
    expect(tree.ns?.p2?.[id(3)]).to.equal(one);
    expect(tree.ns?.p1?.[id(2)]).to.deep.equal(hashInfo({ 'runtime-kind': 'Golang' }));
    expect(tree.ns?.p3?.[id(4)]).to.not.deep.equal(one);
    expect(Object.isFrozen(one) && Object.isFrozen(one?.runtimes) && Object.isFrozen(one?.runtimes?.[0])).to.equal(
      true,
    );
    expect(() => {
      (one as { kind?: string }).kind = 'changed';
    }).to.throw(TypeError);
  });

  it('hashes every container right when nodes report more distinct values than its cache holds', () => {
    // Each distinct info costs the cache at least its overhead of some hundreds of bytes: this is several times
    // what SHARED_INFO_CACHE_BYTES holds, reported twice, so most of the second round was dropped from it.
    const distinct = Math.ceil(SHARED_INFO_CACHE_BYTES / 256);
    const info = (i: number) => ({ 'runtime-kind': 'Java', 'runtime-kind-version': `17.0.${i}` });
    const m = new TreeMerger();
    for (const round of [0, 1]) {
      const ids = Object.fromEntries(Array.from({ length: distinct }, (_, i) => [id(round * distinct + i), info(i)]));
      m.add(`node-${round}`, { ns: { [`p${round}`]: ids } });
    }
    const { tree, containers } = m.result();
    expect(containers).to.equal(2 * distinct);
    for (const round of [0, 1])
      for (const i of [0, distinct >> 1, distinct - 1])
        expect(tree.ns?.[`p${round}`]?.[id(round * distinct + i)]).to.deep.equal(hashInfo(info(i)));
  });

  it('names the nodes that reported a pod', () => {
    const m = new TreeMerger();
    m.add('node-b', { ns: { p: { [id(1)]: {} } } });
    m.add('node-a', { ns: { p: { [id(2)]: {} }, q: { [id(3)]: {} } } });
    expect(m.nodesOf('ns', 'p')).to.deep.equal(['node-a', 'node-b']);
    expect(m.nodesOf('ns', 'q')).to.deep.equal(['node-a']);
    expect(m.nodesOf('ns', 'none')).to.deep.equal([]);
  });
});
