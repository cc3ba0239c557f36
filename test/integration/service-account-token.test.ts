/**
 * The tests' ServiceAccount clients authenticate as a pod does: with a token file that is renewed before the token
 * expires (test/integration/helpers.ts serviceAccountClients). The benchmark's controller and reporters live longer
 * than one token; before this, every one of them got 401 Unauthorized an hour in.
 */
import { expect } from 'chai';
import { AuthenticationV1Api, KubeConfig } from '@kubernetes/client-node';
import { makeClients } from '../../controller/kube/clients.js';
import { adminKubeConfig, serviceAccountClients, uniqueName, waitFor } from './helpers.js';

/** Who the API server says the client is (a SelfSubjectReview, which every authenticated user may create). */
async function whoAmI(kc: KubeConfig): Promise<string | undefined> {
  const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  return review.status?.userInfo?.username;
}

/** A new process's view: a KubeConfig loaded from the exported kubeconfig, reading the token file afresh. */
function startedFrom(exported: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(exported);
  return kc;
}

describe('ServiceAccount tokens as a pod has them (real API server)', function () {
  this.timeout(60_000);
  const admin = makeClients(adminKubeConfig());
  const ns = uniqueName('cs-token');
  const sa = 'renewed';
  const user = `system:serviceaccount:${ns}:${sa}`;

  before(async () => {
    await admin.core.createNamespace({ body: { metadata: { name: ns } } });
    await admin.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
  });
  after(async () => {
    await admin.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('renews the token in the file, so a process started from the kubeconfig authenticates again', async () => {
    const clients = await serviceAccountClients(admin, ns, sa);
    const exported = clients.kc.exportConfig();
    expect(await whoAmI(clients.kc)).to.equal(user);
    expect(await whoAmI(startedFrom(exported))).to.equal(user);

    // The ServiceAccount replaced: tokens are bound to its UID, so the one in the file is refused from now on.
    await admin.core.deleteNamespacedServiceAccount({ namespace: ns, name: sa });
    await admin.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
    const refused = await waitFor('the old token to be refused', async () => {
      try {
        await whoAmI(startedFrom(exported));
        return false;
      } catch (e) {
        return (e as { code?: number }).code;
      }
    });
    expect(refused).to.equal(401);

    // A renewal writes a new token to the same file; the same kubeconfig authenticates again.
    await clients.renewToken();
    expect(await whoAmI(startedFrom(exported))).to.equal(user);
    expect(exported, 'the kubeconfig names the token file, never the token').to.not.match(/eyJ[\w-]+\.[\w-]+\./);
  });
});
