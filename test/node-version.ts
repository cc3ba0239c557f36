/**
 * Loaded first by the unit and integration suites: the controller's code needs the Node.js package.json's
 * `engines.node` names (client-node 2.x does not even load on an older one), and its tests run on the image's own
 * Node.js, which hack/node-runtime builds for this machine. A clear error instead of a failed import.
 */
import { readFileSync } from 'node:fs';

const engines = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    engines: { node: string };
  }
).engines.node;
const wanted = /^>=(\d+)\.(\d+)$/.exec(engines);
if (!wanted) throw new Error(`package.json engines.node is "${engines}"; test/node-version.ts reads only ">=X.Y"`);
const [major, minor] = process.versions.node.split('.').map(Number);
const [wantMajor, wantMinor] = [Number(wanted[1]), Number(wanted[2])];
if (major! < wantMajor || (major === wantMajor && minor! < wantMinor))
  throw new Error(
    `Node.js ${process.version} is older than package.json's engines.node "${engines}": run the tests on the ` +
      `image's Node.js, e.g. hack/node-runtime exec npm run test:unit (make test-controller does)`,
  );
