import { expect } from 'chai';
import { hashValue } from '../../controller/publish/hash.js';

// Every pair from shared/research/vectors.md (the Insights Operator's and the exporter's own test values).
export const VECTORS: [string, string][] = [
  ['rhel', 'yqx1WBefoIAq'],
  ['Golang', 'UOVueXxKyJ95'],
  ['Java', 'wbpgzhNYZQOi'],
  ['Node.js', 'H8DHhTMugPuT'],
  ['Quarkus', 'zBVuVhrrC_vC'],
  ['GraalVM', 'mjPGfOhcD0JI'],
  ['8.6', 'bcUKL9Pvg0MV'],
  ['9.2', 'y8wgieLpI0ob'],
  ['go1.20.12 X:strictfipsruntime', 'TLKodAH_YUTX'],
  ['bash', 'N9KxLV2avCo2'],
  ['sh', 'icTsn2s_EIax'],
  ['', '47DEQpj8HBSa'],
  ['8.8', 'AQN-qh_OyRUA'],
  ['8.9', '7RUYdckn49F8'],
  ['17.0.7', 'cAsoUDy8JFNV'],
  ['Red Hat, Inc.', 'DzP5-GS6tDOQ'],
  ['2.13.8.Final-redhat-00004', 'lyAE7Oh63WPU'],
  ['debian', 'gdk3V0V_mIUj'],
  ['ubuntu', 'eASlalx2NswF'],
  ['alpine', 'VMWz3UWdXvd4'],
  ['centos', 'E1aY7ls5rJUV'],
  ['ol', '4giCWVSI-k9a'],
  ['Python', 'GIhfJ7WvkBLf'],
  ['Spring Boot', 'jZqA-x3DCkbL'],
  ['Apache Tomcat', '5IjjS6fBvX9o'],
  ['WildFly', 'WdnIPK_z93VZ'],
  ['WildFly Full', 'fr-SLet5iazD'],
  ['Red Hat JBoss Enterprise Application Platform', 'Cw1tDKX0b8XZ'],
  ['Eclipse Adoptium', 'C_ojtzmndKzM'],
  ['N/A', '4veeW2AzC7pM'],
  ['8.10', 'FO-9Fi-sQMGt'],
  ['9.4', 'K2QGIVZ9KplQ'],
  ['9.6', 'L1MQfyDVbqj3'],
  ['10.0', '8eQgGa7MhY_7'],
  ['12', 'a1HUMd9dfxQc'],
  ['13', 'P9ujXwTcjEYp'],
  ['go1.22.6', 'jsNi0k7YFKmH'],
  ['v22.6.0', 'Ops69pNn7VQ_'],
  ['Python 3.9.19', 'iTNjsYjsk-0E'],
  ['3.15.1', 'eiP6Wt79lYex'],
  ['test1', 'G08OmFGXGZjn'],
  ['test2', 'YDA64iuZiGG8'],
];

describe('hashValue', () => {
  for (const [input, expected] of VECTORS) {
    it(`hashes ${JSON.stringify(input)} to ${expected}`, () => {
      expect(hashValue(input)).to.equal(expected);
    });
  }

  it('always yields 12 base64url characters', () => {
    for (const s of ['', 'x', 'ä€😀', 'a'.repeat(10000)]) expect(hashValue(s)).to.match(/^[A-Za-z0-9_-]{12}$/);
  });
});
