import { expect } from 'chai';
import { WorkQueue } from '../../controller/manager/queue.js';
import { sleep } from '../../controller/util/sleep.js';

describe('WorkQueue', () => {
  it('never runs one key twice at once, and runs it again when it was added meanwhile', async () => {
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const q = new WorkQueue(
      async () => {
        calls++;
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(30);
        active--;
        return undefined;
      },
      { concurrency: 4 },
    );
    q.add('ns/a');
    q.add('ns/a'); // deduplicated while queued
    await sleep(5);
    q.add('ns/a'); // arrives while running: one more run after
    q.add('ns/a');
    await sleep(120);
    expect(maxActive).to.equal(1);
    expect(calls).to.equal(2);
    await q.stop();
  });

  it('bounds concurrency across keys', async () => {
    let active = 0;
    let maxActive = 0;
    const q = new WorkQueue(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(20);
        active--;
        return undefined;
      },
      { concurrency: 2 },
    );
    for (let i = 0; i < 6; i++) q.add(`ns/k${i}`);
    await sleep(100);
    expect(maxActive).to.equal(2);
    await q.stop();
  });

  it('retries failures with exponential backoff and honours requeue delays', async () => {
    const times: number[] = [];
    const start = Date.now();
    const q = new WorkQueue(
      async () => {
        times.push(Date.now() - start);
        if (times.length < 3) throw new Error('boom');
        if (times.length === 3) return 40;
        return undefined;
      },
      { baseBackoffMs: 20 },
    );
    q.add('ns/x');
    // Waits for the fourth call rather than a fixed time (a loaded machine delays timers), then a little longer:
    // the fourth asks for no requeue, so no fifth comes.
    for (let waited = 0; times.length < 4 && waited < 5000; waited += 10) await sleep(10);
    await sleep(100);
    await q.stop();
    expect(times).to.have.length(4);
    expect(times[1]! - times[0]!).to.be.at.least(18); // 20 ms
    expect(times[2]! - times[1]!).to.be.at.least(38); // 40 ms
    expect(times[3]! - times[2]!).to.be.at.least(38); // requeue after 40 ms
  });

  it('keeps the earliest of two delayed adds', async () => {
    let calls = 0;
    const q = new WorkQueue(async () => {
      calls++;
      return undefined;
    });
    q.add('ns/y', 10_000);
    q.add('ns/y', 20);
    await sleep(60);
    expect(calls).to.equal(1);
    await q.stop();
  });
});

describe('Lease MicroTime', () => {
  it('writes six fractional digits, as the API server requires', async () => {
    const { microTime } = await import('../../controller/kube/leader.js');
    expect(microTime(new Date('2026-11-23T20:42:30.483Z'))).to.equal('2026-11-23T20:42:30.483000Z');
  });
});
