// The TLS audit's verdict on testssl.sh's JSON findings, from a report of the replica's edge (cdn-tls)
// recorded with testssl 3.2 (tests/fixtures/testssl/replica-edge.json), and that report made worse.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { testsslVerdict, type TestsslFinding } from '../../scripts/lib/audit/checks.js';

const edge = JSON.parse(
  readFileSync(new URL('../fixtures/testssl/replica-edge.json', import.meta.url), 'utf8'),
) as TestsslFinding[];

const changed = (id: string, finding: string, severity = 'HIGH'): TestsslFinding[] =>
  edge.filter((item) => item.id !== id).concat({ id, severity, finding });

describe("testssl's verdict (Mozilla intermediate)", () => {
  it("when the replica's edge is audited with its local CA, then nothing is wrong", () => {
    assert.deepEqual(testsslVerdict(edge, { localCa: true }).problems, []);
  });

  it('when the same certificate is judged as a public one, then its missing CRL and OCSP are the one problem', () => {
    const { problems } = testsslVerdict(edge, { localCa: false });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^cert_revocation: /);
  });

  for (const [what, findings, expected] of [
    ['TLS 1.1 is offered', changed('TLS1_1', 'offered (deprecated)'), /TLS1_1 offered/],
    ['TLS 1.2 is not offered', changed('TLS1_2', 'not offered', 'OK'), /TLS 1\.2 not offered/],
    [
      'a cipher without forward secrecy is offered',
      changed('cipherlist_STRONG_NOFS', 'offered', 'WARN'),
      /without forward secrecy/,
    ],
    ['CBC ciphers are offered', changed('cipherlist_OBSOLETED', 'offered', 'LOW'), /obsolete \(CBC\)/],
    ['HSTS is missing', changed('HSTS_time', 'not offered', 'LOW'), /no HSTS/],
    [
      'the chain does not validate',
      changed('cert_chain_of_trust', 'failed (chain incomplete).', 'CRITICAL'),
      /chain of trust: failed/,
    ],
  ] as const) {
    it(`when ${what}, then the verdict says so`, () => {
      assert.match(testsslVerdict(findings, { localCa: true }).problems.join('; '), expected);
    });
  }
});
