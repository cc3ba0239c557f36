import { expect } from 'chai';
import type { V1Pod } from '@kubernetes/client-node';
import { ScannerPods, type PodPage } from '../../controller/manager/scanner-pods.js';

/** A scanner pod of a run on a node, ready or waiting for its image. */
function pod(name: string, run: string, node: string, ready: boolean): V1Pod {
  return {
    metadata: { name, labels: { 'containerscanner.io/run': run, 'containerscanner.io/component': 'scanner' } },
    spec: { nodeName: node, containers: [] },
    status: ready
      ? { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }
      : {
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'reporter',
              image: 'i',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'ImagePullBackOff', message: 'pull denied' } },
            },
          ],
        },
  };
}

describe('scanner pods as the watch keeps them', () => {
  it('answers from a paged list, follows the watch, and answers nothing while stale', async () => {
    const pods = new ScannerPods();
    expect(pods.ofRun('s-1'), 'before the first list').to.equal(undefined);
    const pages: PodPage[] = [
      {
        items: [pod('a', 's-1', 'n1', true), pod('b', 's-1', 'n2', false)],
        metadata: { resourceVersion: '41', _continue: 't' },
      },
      { items: [pod('c', 's-2', 'n1', true)], metadata: { resourceVersion: '41' } },
    ];
    const asked: (string | undefined)[] = [];
    const version = await pods.relist(async (cont) => {
      asked.push(cont);
      return pages[asked.length - 1]!;
    });
    expect(version).to.equal('41');
    expect(asked).to.deep.equal([undefined, 't']);
    expect(pods.ofRun('s-1')).to.deep.equal([
      { run: 's-1', node: 'n1', ready: true, problem: 'scanner pod Running' },
      { run: 's-1', node: 'n2', ready: false, problem: 'reporter waiting: ImagePullBackOff: pull denied' },
    ]);
    pods.apply('MODIFIED', pod('b', 's-1', 'n2', true));
    pods.apply('DELETED', pod('a', 's-1', 'n1', true));
    expect(pods.ofRun('s-1')!.map((p) => [p.node, p.ready])).to.deep.equal([['n2', true]]);
    expect(pods.ofRun('s-2')!.map((p) => p.node)).to.deep.equal(['n1']);
    pods.stale();
    expect(pods.ofRun('s-1'), 'a watch that failed').to.equal(undefined);
    // The list that starts the watch over replaces everything known.
    await pods.relist(async () => ({ items: [pod('d', 's-3', 'n4', false)], metadata: { resourceVersion: '50' } }));
    expect(pods.ofRun('s-1')).to.deep.equal([]);
    expect(pods.size).to.equal(1);
  });
});
