import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { buildResultStatus, validateReport, validateScan } from '../../controller/reporter/validate-scan.js';
import { readCapped } from '../../controller/reporter/write-status.js';

const ID = 'containerd://' + '0123456789abcdef'.repeat(4);
const NOW = new Date('2026-11-23T10:00:00Z');
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const GOOD_SCAN = {
  shop: {
    'cart-7d9f-x2': {
      [ID]: {
        'os-release-id': 'debian',
        'os-release-version-id': '12',
        'runtime-kind': 'Java',
        'runtime-kind-version': '17.0.9',
        'runtime-kind-implementer': 'Red Hat, Inc.',
        'runtime-name': 'Quarkus',
        'runtime-version': '3.2.13.Final',
      },
    },
  },
  'kube-system': { 'coredns-1': { ['cri-o://' + 'f'.repeat(64)]: { 'os-release-id': '' } } },
};
const GOOD_REPORT = {
  version: 1,
  node: 'w1',
  startedAt: '2026-11-23T09:59:58Z',
  durationMs: 1234,
  containersFound: 3,
  containersScanned: 2,
  containersFailed: 1,
  containers: [
    { namespace: 'shop', pod: 'cart-7d9f-x2', id: ID, status: 'scanned', durationMs: 12 },
    {
      namespace: 'shop',
      pod: 'gone',
      id: 'containerd://' + 'e'.repeat(64),
      status: 'failed',
      error: 'container exited during the scan',
      durationMs: 3,
    },
  ],
};

describe('reporter validation', () => {
  it('accepts the scanner contract and counts containers and detections', () => {
    const s = validateScan(json(GOOD_SCAN));
    expect(s.containers).to.equal(2);
    expect(s.detected).to.equal(1);
    expect(s.tree['kube-system']?.['coredns-1']).to.deep.equal({ ['cri-o://' + 'f'.repeat(64)]: {} });
  });

  it('builds a Reported status from both files', () => {
    const st = buildResultStatus('w1', json(GOOD_SCAN), json(GOOD_REPORT), NOW);
    expect(st).to.deep.include({
      phase: 'Reported',
      reportedAt: '2026-11-23T10:00:00.000Z',
      startedAt: '2026-11-23T09:59:58.000Z',
      durationMs: 1234,
      duration: '1.2s',
      containersFound: 3,
      containersScanned: 2,
      containersFailed: 1,
      containersDetected: 1,
    });
    expect(st.failures).to.deep.equal([
      {
        namespace: 'shop',
        pod: 'gone',
        id: 'containerd://' + 'e'.repeat(64),
        error: 'container exited during the scan',
      },
    ]);
    expect(st.tree?.shop?.['cart-7d9f-x2']?.[ID]?.['runtime-name']).to.equal('Quarkus');
  });

  const bad: [string, Buffer, RegExp][] = [
    ['garbage', Buffer.from('\u0000\u0001 not json {'), /scan.json is not valid JSON/],
    ['an array', json([1, 2]), /top level must be an object/],
    ['a bad namespace', json({ Bad_NS: {} }), /is not a namespace name/],
    ['a bad container id', json({ ns: { p: { 'docker://123': {} } } }), /is not a container id/],
    ['a number value', json({ ns: { p: { [ID]: { 'runtime-kind': 17 } } } }), /runtime-kind must be a string/],
    [
      'a control character',
      json({ ns: { p: { [ID]: { 'runtime-name': 'evil\u001b[31m' } } } }),
      /other than printable ASCII/,
    ],
    ['a huge value', json({ ns: { p: { [ID]: { 'runtime-name': 'x'.repeat(300) } } } }), /longer than 200/],
    [
      'runtimes that are not a list',
      json({ ns: { p: { [ID]: { 'runtime-name': 'A', runtimes: { name: 'A' } } } } }),
      /runtimes must be an array/,
    ],
    [
      'too many runtimes',
      json({
        ns: { p: { [ID]: { 'runtime-name': 'A', runtimes: ['A', 'B', 'C', 'D', 'E'].map((name) => ({ name })) } } },
      }),
      /more than 4 runtimes/,
    ],
    [
      'a runtime without a name',
      json({ ns: { p: { [ID]: { runtimes: [{ version: '1' }] } } } }),
      /runtimes\[0\] has no name/,
    ],
    [
      'a runtime version with a control character',
      json({ ns: { p: { [ID]: { 'runtime-name': 'A', runtimes: [{ name: 'A', version: '1\u0007' }] } } } }),
      /runtimes\[0\]\.version must be a printable string/,
    ],
    [
      'a first runtime that is not runtime-name',
      json({ ns: { p: { [ID]: { 'runtime-name': 'A', runtimes: [{ name: 'B' }] } } } }),
      /first of runtimes is not runtime-name/,
    ],
  ];
  for (const [what, bytes, re] of bad) {
    it(`fails the node with a clear reason on ${what}`, () => {
      const st = buildResultStatus('w1', bytes, undefined, NOW);
      expect(st.phase).to.equal('Failed');
      expect(st.error).to.match(re);
      expect(st.tree).to.equal(undefined);
    });
  }

  it('enforces the size cap before parsing', () => {
    const st = buildResultStatus('w1', Buffer.alloc(2048, 0x20), undefined, NOW, { maxScanBytes: 1024 });
    expect(st).to.deep.include({ phase: 'Failed', error: 'scan.json exceeds the cap of 1024 bytes' });
  });

  it('leaves out the containers of no known pod (namespace ""), counting them', () => {
    const other = `containerd://${'b'.repeat(64)}`;
    const s = validateScan(
      json({
        '': { '6b1c7a8e-2d4f-4e1a-9c3b-5a6d7e8f9a0b': { [other]: {} }, '': { [ID]: {} } },
        ns: { p: { [ID]: {} } },
      }),
    );
    expect(s.unnamed).to.equal(2);
    expect(s.tree).to.deep.equal({ ns: { p: { [ID]: {} } } });
    expect(s.containers).to.equal(1);
  });

  it('keeps the ordered runtimes, dropping unknown keys inside them', () => {
    const runtimes = [
      { name: 'Spring Boot', version: '3.5.13' },
      { name: 'Apache Tomcat', version: '10.1.53' },
    ];
    const info = {
      'runtime-kind': 'Java',
      'runtime-name': 'Spring Boot',
      'runtime-version': '3.5.13',
      runtimes: [{ ...runtimes[0], future: 'x' }, runtimes[1]],
    };
    const s = validateScan(json({ ns: { p: { [ID]: info } } }));
    expect(s.tree.ns?.p?.[ID]).to.deep.equal({
      'runtime-kind': 'Java',
      'runtime-name': 'Spring Boot',
      'runtime-version': '3.5.13',
      runtimes,
    });
  });

  it('drops unknown keys but keeps the known ones', () => {
    const s = validateScan(json({ ns: { p: { [ID]: { 'runtime-kind': 'Go', 'future-key': 'x' } } } }));
    expect(s.unknownKeys).to.equal(1);
    expect(s.tree.ns?.p?.[ID]).to.deep.equal({ 'runtime-kind': 'Go' });
  });

  it("accepts the scanner's own run figures (cpuMs, coordinatorMaxRssKb) in report.json", () => {
    const withFigures = { ...GOOD_REPORT, cpuMs: 1830, coordinatorMaxRssKb: 4716 };
    expect(validateReport(json(withFigures))).to.deep.equal(validateReport(json(GOOD_REPORT)));
  });

  it('refuses a report written for another node, a missing scan.json and a bad report', () => {
    expect(buildResultStatus('w2', json(GOOD_SCAN), json(GOOD_REPORT), NOW).error).to.match(/for node "w1", not "w2"/);
    expect(buildResultStatus('w1', undefined, undefined, NOW).error).to.match(/scan.json missing/);
    expect(() => validateReport(json({ ...GOOD_REPORT, version: 2 }))).to.throw(/version 2 is not supported/);
    expect(() => validateReport(json({ ...GOOD_REPORT, containersFound: -1 }))).to.throw(
      /containersFound must be a non-negative integer/,
    );
    expect(() => validateReport(json({ ...GOOD_REPORT, containers: [{ status: 'odd' }] }))).to.throw(
      /neither "scanned" nor "failed"/,
    );
  });
});

describe('readCapped', () => {
  it('reads a file whole when it fits, stops one byte past the cap otherwise, and reports a missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cap-'));
    writeFileSync(join(dir, 'small'), 'hello');
    writeFileSync(join(dir, 'big'), Buffer.alloc(10_000, 0x61));
    expect((await readCapped(join(dir, 'small'), 100))!.toString()).to.equal('hello');
    expect((await readCapped(join(dir, 'big'), 100))!.length).to.equal(101);
    expect(await readCapped(join(dir, 'absent'), 100)).to.equal(undefined);
    const st = buildResultStatus('w1', await readCapped(join(dir, 'big'), 100), undefined, NOW, { maxScanBytes: 100 });
    expect(st.error).to.equal('scan.json exceeds the cap of 100 bytes');
  });
});
