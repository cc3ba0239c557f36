// The runtimes e2e suite's table (test/e2e/images/rt-*/workloads.json), checked without root: every file
// parses, names only what its recipe records, and RUNTIMES selects as documented.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { SCANNER_KEYS } from '../../controller/api/scan-tree.js';
import {
  fill,
  fillEntry,
  imagesDir,
  loadWorkloads,
  selectedImages,
  tableImages,
} from '../../test/e2e/runtime-table.js';

describe('the runtimes e2e table (test/e2e/images/rt-*/workloads.json)', () => {
  const images = tableImages();

  it('has every image folder that has a recipe, and each one loads', () => {
    expect(images.length).to.be.greaterThan(10);
    for (const image of images) expect(existsSync(join(imagesDir, image, 'build')), image).to.equal(true);
    expect(loadWorkloads(images).length).to.be.at.least(images.length);
  });

  it('expects only the scan tree keys of the contract', () => {
    const allowed = new Set<string>(SCANNER_KEYS);
    for (const w of loadWorkloads(images)) {
      for (const key of Object.keys(w.expect ?? {})) expect(allowed, `${w.image} ${w.pod}: ${key}`).to.include(key);
    }
  });

  it('takes every version from a fact the recipe records (a placeholder, never a typed value)', () => {
    const shared = readFileSync(join(imagesDir, 'rt-lib', 'lib.sh'), 'utf8');
    for (const w of loadWorkloads(images)) {
      const recipe = readFileSync(join(imagesDir, w.image, 'build'), 'utf8');
      const templates = [
        ...Object.entries(w.expect ?? {}).filter(([k]) => k.endsWith('version') || k.endsWith('implementer')),
        ...(w.runtimes ?? []).flatMap((r) => (r.version === undefined ? [] : [['runtime', r.version] as const])),
      ];
      for (const [key, template] of templates) {
        expect(template, `${w.image} ${w.pod} ${key}`).to.match(/^\{[^{}]+\}$/);
        const fact = template.slice(1, -1).split(':')[0] ?? '';
        // The recipe writes it, or a shared helper it calls (rt-lib/lib.sh: os-release, the JDK's release file).
        expect(recipe + shared, `${w.image} records ${fact}`).to.contain(fact);
      }
    }
  });

  it('RUNTIMES selects images by short or full name, in table order, and refuses unknown names', () => {
    expect(selectedImages(undefined)).to.deep.equal(images);
    expect(selectedImages('python, rt-node')).to.deep.equal(['rt-node', 'rt-python']);
    expect(() => selectedImages('node,cobol')).to.throw(/RUNTIMES names rt-cobol, which the table lacks/);
  });

  it('fills placeholders from facts and fails on a fact the recipe did not record', () => {
    const facts = new Map([['v', '1.2.3']]);
    const fact = (k: string) => {
      const v = facts.get(k);
      if (v === undefined) throw new Error(`no ${k}`);
      return v;
    };
    expect(fillEntry({ 'runtime-name': 'Redis', 'runtime-version': '{v}' }, fact)).to.deep.equal({
      'runtime-name': 'Redis',
      'runtime-version': '1.2.3',
    });
    expect(() => fill('{missing}', fact)).to.throw(/no missing/);
  });
});
