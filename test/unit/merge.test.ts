import { expect } from 'chai';
import { hashInfo, mergeTrees } from '../../controller/merge.js';

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
          },
        },
      },
    });
  });

  it('leaves out absent and empty values, and ignores keys it does not know', () => {
    expect(hashInfo({ 'os-release-id': 'debian', 'os-release-version-id': '', 'runtime-kind': 'Golang', extra: 'x' })).to.deep.equal({
      os: 'gdk3V0V_mIUj',
      kind: 'UOVueXxKyJ95',
    });
    expect(hashInfo({})).to.deep.equal({});
  });

  it('merges several nodes into one tree, namespaces and pods spanning nodes', () => {
    const { tree, containers } = mergeTrees([
      { node: 'b', tree: { ns1: { p2: { [GO]: { 'runtime-kind': 'Golang' } } } } },
      { node: 'a', tree: { ns1: { p1: { [JAVA]: { 'runtime-kind': 'Java' } } }, ns2: { p3: { [GO]: { 'os-release-id': 'alpine' } } } } },
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
    for (const order of [[one, two], [two, one]]) {
      const { tree, containers, warnings } = mergeTrees(order);
      expect(containers).to.equal(1);
      expect(tree.ns?.p?.[JAVA]).to.deep.equal({ kind: 'wbpgzhNYZQOi' });
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.contain('node-a').and.contain('node-b');
    }
  });
});
