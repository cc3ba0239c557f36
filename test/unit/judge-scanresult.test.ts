import { expect } from 'chai';
import type { ScanResult } from '../../controller/api/resources.js';
import { judgeScanResult, type ExpectedResult } from '../../controller/reconcile/judge-scanresult.js';

const ID = 'containerd://' + 'ab'.repeat(32);
const EXPECTED: ExpectedResult = { name: 'daily-1-w1', uid: 'uid-1', run: 'daily-1', node: 'w1' };
function sr(
  status: ScanResult['status'],
  meta: Partial<ScanResult['metadata']> = {},
  spec: Partial<ScanResult['spec']> = {},
): ScanResult {
  return {
    apiVersion: 'containerscanner.io/v1alpha1',
    kind: 'ScanResult',
    metadata: { name: 'daily-1-w1', namespace: 'scans', uid: 'uid-1', ...meta },
    spec: { scan: 'daily', run: 'daily-1', node: 'w1', ...spec },
    ...(status ? { status } : {}),
  };
}

describe('controller re-validation of ScanResults', () => {
  it('counts containers from the tree, not from the counters written beside it', () => {
    const v = judgeScanResult(
      sr({
        phase: 'Reported',
        containersScanned: 1_000_007,
        containersDetected: 1_000_007,
        tree: { shop: { web: { [ID]: { 'runtime-kind': 'Java' } }, api: { ['cri-o://' + 'cd'.repeat(32)]: {} } } },
      }),
      EXPECTED,
    );
    expect(v).to.deep.include({ kind: 'reported', containers: 2, detected: 1 });
  });

  const hostile: [string, unknown, RegExp][] = [
    ['a namespace that breaks out of JSON', { 'x","evil":"1': { p: { [ID]: {} } } }, /is not a namespace name/],
    ['a path as a pod name', { shop: { '../..': { [ID]: {} } } }, /is not a pod name/],
    ['an id that is not a container id', { shop: { p: { 'not-a-container-id': {} } } }, /is not a container id/],
    [
      'a value with a control character',
      { shop: { p: { [ID]: { 'runtime-name': 'a\u001b[2Jb' } } } },
      /printable ASCII/,
    ],
    [
      "a value over the scanner's 200 characters",
      { shop: { p: { [ID]: { 'runtime-version': '1'.repeat(201) } } } },
      /longer than 200/,
    ],
    ['a value that is not a string', { shop: { p: { [ID]: { 'runtime-kind': ['Java'] } } } }, /must be a string/],
  ];
  for (const [what, tree, re] of hostile) {
    it(`refuses ${what}`, () => {
      const v = judgeScanResult(sr({ phase: 'Reported', tree: tree as never }), EXPECTED);
      expect(v.kind).to.equal('failed');
      if (v.kind !== 'failed') return;
      expect(v.reason).to.equal('ReportRejected');
      expect(v.error)
        .to.match(/^ScanResult daily-1-w1 refused by the controller: /)
        .and.match(re);
      expect(v.error).to.not.match(/[\u0000-\u001f]/);
    });
  }

  it('considers only the object it created for that node and run', () => {
    const good = { phase: 'Reported' as const, tree: {} };
    expect(judgeScanResult(sr(good), EXPECTED).kind).to.equal('reported');
    expect(judgeScanResult(sr(good, { uid: 'someone-elses' }), EXPECTED)).to.deep.include({ kind: 'foreign' });
    expect(judgeScanResult(sr(good), { ...EXPECTED, uid: undefined })).to.deep.include({ kind: 'foreign' });
    expect(judgeScanResult(sr(good, {}, { node: 'w2' }), EXPECTED)).to.deep.include({ kind: 'foreign' });
    expect(judgeScanResult(sr(good, { name: 'daily-1-w1-evil' }), EXPECTED)).to.deep.include({ kind: 'foreign' });
  });

  it("passes a reporter's failure on with its error cleaned and capped", () => {
    const v = judgeScanResult(sr({ phase: 'Failed', error: `bad\u0000\u001b[31m ${'x'.repeat(5000)}` }), EXPECTED);
    expect(v).to.deep.include({ kind: 'failed', reason: 'NodeFailed' });
    if (v.kind === 'failed') {
      expect(v.error.length).to.be.at.most(1025);
      expect(v.error).to.match(/^bad \[31m x/);
    }
    expect(judgeScanResult(sr({ phase: 'Pending' }), EXPECTED).kind).to.equal('pending');
    expect(judgeScanResult(sr(undefined), EXPECTED).kind).to.equal('pending');
  });
});
