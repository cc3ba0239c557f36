#!/usr/bin/env node
// The project's line limit for TypeScript (controller/ and test/): 120 characters. Part of `npm run lint`; tsc does
// not check it and the formatter (if any) is not what CI runs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAX = 120;
const ROOTS = ['controller', 'test'];

function* tsFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

let long = 0;
for (const root of ROOTS)
  for (const file of tsFiles(root))
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const length = [...line].length;
        if (length > MAX) {
          long++;
          console.error(`${file}:${i + 1}: ${length} characters (at most ${MAX})`);
        }
      });
if (long) {
  console.error(`${long} line(s) over ${MAX} characters`);
  process.exit(1);
}
