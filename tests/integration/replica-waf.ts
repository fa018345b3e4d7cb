// The web application firewall on the replica (ModSecurity + OWASP CRS on web1 and web2), through the
// full path CDN → LB → web, and the security audit's fast subset. Run by replica.test.ts on its
// replica (after the suites whose legitimate traffic it checks; before the ones that stop services).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { runAudit } from '../../scripts/lib/audit/audit.js';
import { AuditReportSchema, writeReport } from '../../scripts/lib/audit/report.js';
import { request } from '../support/http.js';
import { localCaFile } from '../support/local-ca.js';
import { composeRequiredVariables, runBlocks, runbookBlocks } from '../support/runbook-commands.js';
import { validRequests } from '../support/openapi-requests.js';
import type { StartedReplica } from '../support/started-replica.js';
import { attackCorpus, probeCorpus, sendRaw } from '../support/waf-corpus.js';

const run = promisify(execFile);

/** The ECS lines of blocked requests a web server has written so far (its output: waf.log is /dev/stdout). */
async function blockLines(replica: StartedReplica, service: 'web1' | 'web2'): Promise<Record<string, unknown>[]> {
  const { stdout } = await run('docker', ['logs', `${replica.projectName}-${service}-1`], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((line) => line.includes('"event.action":"waf-blocked"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export function describeWaf(replica: () => StartedReplica): void {
  describe('web application firewall (ModSecurity + OWASP CRS, docs/runbooks/waf.md)', () => {
    it('when the suites before this one have sent their traffic through the web servers, then the WAF blocked none of it', async () => {
      const blocked = [...(await blockLines(replica(), 'web1')), ...(await blockLines(replica(), 'web2'))];
      assert.deepEqual(
        blocked.map((line) => `${String(line['http.request.method'])} ${String(line['url.original'])}`),
        [],
      );
    });

    it('when valid requests generated from the OpenAPI document reach every route through the CDN, then the WAF blocks none', async () => {
      const token = await replica().idToken(`waf-valid-${Date.now()}@refereezy.test`, 'admin');
      const requests = validRequests(token, { perOperation: 4 });
      const result = await probeCorpus(replica().cdnUrl, requests, { concurrency: 2 });
      console.log(
        `WAF false positives: ${result.blocked} of ${result.total} valid requests (${Object.keys(result.byCategory).join(', ')})`,
      );
      assert.equal(result.total, requests.length);
      assert.equal(result.blocked, 0);
    });

    it('when the attack corpus (tests/fixtures/waf) is sent through the CDN, then at least 95 % is blocked', async () => {
      const token = await replica().idToken(`waf-attacker-${Date.now()}@refereezy.test`, 'referee');
      const result = await probeCorpus(replica().cdnUrl, attackCorpus(token));
      const rate = (result.rate * 100).toFixed(1);
      console.log(
        `WAF block rate: ${result.blocked} of ${result.total} attacks (${rate} %; ${result.refusedByNginx} refused by nginx before the WAF)`,
      );
      for (const [category, tally] of Object.entries(result.byCategory))
        console.log(`  ${category}: ${tally.blocked}/${tally.total}`);
      if (result.missed.length > 0) console.log(`  missed:\n    ${result.missed.join('\n    ')}`);
      assert.ok(result.total >= 400, `the corpus has ${result.total} requests`);
      assert.ok(result.rate >= 0.95, `${rate} % blocked`);
    });

    it('when a request is blocked, then it gets 403 with its request id, one ECS log line with that id, an audit record with the rules, and the counter Prometheus scrapes goes up', async () => {
      const id = `waf-test-${Date.now()}`;
      const answer = await sendRaw(replica().cdnUrl, {
        category: 'sqli',
        label: 'one',
        method: 'GET',
        path: `/?q=${encodeURIComponent("' OR 1=1--")}`,
        headers: { 'x-request-id': id },
      });
      assert.equal(answer.status, 403);
      assert.equal(answer.requestId, id);
      const body = JSON.parse(answer.body) as { error: { code: string; requestId: string } };
      assert.deepEqual([body.error.code, body.error.requestId], ['waf_blocked', id]);

      const servedBy = (await blockLines(replica(), 'web1')).some((line) => line['http.request.id'] === id)
        ? 'web1'
        : 'web2';
      const [line] = (await blockLines(replica(), servedBy)).filter((entry) => entry['http.request.id'] === id);
      assert.ok(line, `no ECS line for ${id}`);
      assert.equal(line['event.action'], 'waf-blocked');
      assert.equal(line['http.response.status_code'], 403);
      assert.ok(line['ecs.version']);
      const { stderr } = await run('docker', ['logs', `${replica().projectName}-${servedBy}-1`], {
        maxBuffer: 256 * 1024 * 1024,
      });
      const audit = stderr
        .split('\n')
        .find((text) => text.startsWith('{"transaction"') && text.includes(`"unique_id":"${id}"`));
      assert.ok(audit, `no audit record for ${id}`);
      assert.match(audit, /"ruleId":"949110"/);

      // The counter on each web server (relayed by its exporter), as Prometheus scrapes it.
      const tap = await replica().monitoringTap();
      const prometheus = `http://127.0.0.1:${tap.port('prometheus', 9090)}`;
      let total = 0;
      for (let attempt = 0; attempt < 30 && total === 0; attempt += 1) {
        const query = await request(
          `${prometheus}/api/v1/query?query=${encodeURIComponent('sum(refereezy_waf_blocked_requests_total)')}`,
        );
        total = Number(
          (JSON.parse(query.body) as { data: { result: { value: [number, string] }[] } }).data.result[0]?.value[1] ?? 0,
        );
        if (total === 0) await sleep(2_000);
      }
      assert.ok(total > 0, 'Prometheus has the WAF counter');
    });

    it("when the runbook's replica commands are followed, then they read a block's rules by its id, switch to detection only (the attack passes) and back (blocked again)", async () => {
      const blocks = runbookBlocks('waf.md', 'replica');
      const block = (name: string) => blocks.get(name) ?? assert.fail(`waf.md has no replica block ${name}`);
      const id = `runbook-${Date.now()}`;
      const blocked = await sendRaw(replica().cdnUrl, {
        category: 'xss',
        label: 'runbook',
        method: 'GET',
        path: `/?q=${encodeURIComponent('<script>alert(1)</script>')}`,
        headers: { 'x-request-id': id },
      });
      assert.equal(blocked.status, 403);
      const env = {
        ...composeRequiredVariables(),
        COMPOSE_PROJECT_NAME: replica().projectName,
        API: replica().cdnUrl,
        REQUEST_ID: id,
      };
      const read = await runBlocks([block('read')], env);
      assert.match(read, new RegExp(`"http\\.request\\.id":"${id}"`));
      assert.match(read, /"ruleId":"949110"/);
      assert.match(read, /"ruleId":"941\d{3}"/, 'an XSS rule of the CRS');
      try {
        await runBlocks([block('detection-only')], env);
        assert.equal((await runBlocks([block('check')], env)).trim(), '200');
      } finally {
        await runBlocks([block('blocking')], env);
      }
      assert.equal((await runBlocks([block('check')], env)).trim(), '403');
    });

    it('when the security audit runs its replica checks, then it writes one report with a verdict and a reason for each, and testssl, the WAF probe, sqlmap and ssh-audit pass', async () => {
      const stamp = Date.now();
      const report = await runAudit({
        label: `replica ${replica().projectName}`,
        composeProject: replica().projectName,
        edgeUrl: replica().cdnUrl,
        tls: { host: 'cdn-tls', port: 443, caFile: localCaFile },
        tokens: {
          attacker: await replica().idToken(`audit-attacker-${stamp}@refereezy.test`, 'referee'),
          user: await replica().idToken(`audit-user-${stamp}@refereezy.test`, 'admin'),
          sqlmap: await replica().idToken(`audit-sqlmap-${stamp}@refereezy.test`, 'admin'),
        },
        only: ['testssl', 'ssh-audit bastion', 'sqlmap', 'waf-probe'],
        sqlmapTimeoutSeconds: 180,
      });
      const files = writeReport(report, mkdtempSync(path.join(tmpdir(), 'audit-')));
      console.log(readFileSync(files.markdown, 'utf8'));
      AuditReportSchema.parse(JSON.parse(readFileSync(files.json, 'utf8')));
      const verdict = (name: string) => report.checks.find((check) => check.check === name);
      for (const check of report.checks) assert.ok(check.reason.length > 0, check.check);
      for (const name of ['testssl', 'waf-probe', 'sqlmap', 'ssh-audit bastion'])
        assert.equal(verdict(name)?.status, 'pass', `${name}: ${verdict(name)?.reason ?? 'missing'}`);
      assert.equal(verdict('lynis')?.status, 'skip', 'lynis runs on the lab (edge-roles.test.ts)');
      assert.ok(report.elsewhere.length === 2);
    });
  });
}
