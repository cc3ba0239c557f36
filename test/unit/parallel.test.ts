import { expect } from 'chai';
import { inParallel } from '../../controller/util/parallel.js';
import { sleep } from '../../controller/util/sleep.js';

describe('inParallel', () => {
  it('runs every item once, never more than the limit at a time', async () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const done: number[] = [];
    let running = 0;
    let most = 0;
    await inParallel(items, 4, async (i) => {
      running++;
      most = Math.max(most, running);
      await sleep(i % 3);
      running--;
      done.push(i);
    });
    expect([...done].sort((a, b) => a - b)).to.deep.equal(items);
    expect(most).to.equal(4);
  });

  it('rejects with the first failure, and does nothing for no items', async () => {
    let error: unknown;
    await inParallel([1, 2, 3], 2, async (i) => {
      if (i === 2) throw new Error(`item ${i}`);
    }).catch((e: unknown) => (error = e));
    expect(String(error)).to.contain('item 2');
    await inParallel([], 8, () => Promise.reject(new Error('never called')));
  });
});
