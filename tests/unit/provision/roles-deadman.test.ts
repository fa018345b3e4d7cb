import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Host } from '../../../provision/inventories/schema.js';
import { deadman, deadmanEnvironment, deadmanUnitSource } from '../../../provision/roles/deadman/index.js';
import { rolesOf } from '../../../provision/roles/index.js';
import { templateValues } from '../../../provision/roles/monitoring/index.js';
import { roleInputs } from '../../support/role-inputs.js';

// A stand-in for the notifier's release (the role would otherwise build one from monitoring/notifier).
const scratch = mkdtempSync(path.join(tmpdir(), 'roles-deadman-'));
const releaseFile = path.join(scratch, 'notifier.tar.gz');
writeFileSync(releaseFile, 'not a real release');
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});
const vars = {
  alert_email_to: 'admins@refereezy.example',
  alert_smtp_from: 'alertmanager@refereezy.example',
  sms_recipients: ['+34600000001'],
  sms_aws_region: 'eu-west-1',
  deadman_from: 'deadman@refereezy.example',
  deadman_to: ['admins@refereezy.example'],
  notifier_release_file: releaseFile,
};
const host = (name: string, address: string, groups: string[], extra: Record<string, unknown> = {}): Host => ({
  name,
  address,
  port: 22,
  groups,
  vars: { ...vars, ...extra },
});
const mail1 = host('mail1', '10.0.2.20', ['mail', 'deadman']);
const mon1 = host('mon1', '10.0.2.30', ['monitoring']);
const inputs = await roleInputs(deadman, [mail1], { hosts: [mail1, mon1] });
const play = { hosts: [mail1, mon1], inputs };

describe("deadman role: the dead man's switch on a second host", () => {
  it('when it runs on the mail host, then it pages through SNS and mails through the relay on that host', () => {
    const environment = deadmanEnvironment(mail1, play);
    assert.equal(environment['DEADMAN_PORT'], '9096');
    assert.equal(environment['DEADMAN_TIMEOUT'], '5m');
    assert.equal(environment['SMS_PROVIDER'], 'sns');
    assert.equal(environment['AWS_REGION'], 'eu-west-1');
    assert.equal(environment['SMTP_HOST'], '127.0.0.1');
    assert.equal(environment['DEADMAN_TO'], 'admins@refereezy.example');
    assert.equal(environment['ENVIRONMENT_NAME'], 'production');
  });

  it('when it runs elsewhere, then it mails through the inventory mail host', () => {
    const other = host('ops1', '10.0.0.20', ['deadman']);
    assert.equal(
      deadmanEnvironment(other, { hosts: [other, host('mail1', '10.0.2.20', ['mail'])] })['SMTP_HOST'],
      '10.0.2.20',
    );
  });

  it('when its host is also the monitoring host, or a setting is wrong, then it refuses, naming host, role and cause', () => {
    const same = host('mon1', '10.0.2.30', ['monitoring', 'deadman']);
    assert.throws(
      () => deadman.tasks(same, { hosts: [same, mail1], inputs }),
      /^Error: host mon1: role deadman: .*outside the monitoring host's failure domain/,
    );
    const noRegion = host('mail1', '10.0.2.20', ['mail', 'deadman'], { sms_aws_region: undefined });
    assert.throws(
      () => deadmanEnvironment(noRegion, { hosts: [noRegion] }),
      /host mail1: role deadman: .*sms_aws_region/,
    );
    const badTimeout = host('mail1', '10.0.2.20', ['mail', 'deadman'], { deadman_timeout: 'soon' });
    assert.throws(
      () => deadmanEnvironment(badTimeout, { hosts: [badTimeout] }),
      /host mail1: role deadman: .*DEADMAN_TIMEOUT/,
    );
  });

  it('when planned, then it installs its hardened unit and a 0600 environment, admits only the monitoring hosts, and the mail host gets the role', () => {
    const tasks = deadman.tasks(mail1, play);
    const unit = tasks.find((task) => /deadman unit/.test(task.name));
    assert.ok(unit);
    const unitStdin = unit.operation.plan(null).commands.find((command) => command.stdin !== undefined)?.stdin;
    assert.equal(String(unitStdin), readFileSync(deadmanUnitSource, 'utf8'));
    assert.match(String(unitStdin), /ExecStart=\/usr\/bin\/node --enable-source-maps dist\/main\.js deadman/);
    assert.match(String(unitStdin), /NoNewPrivileges=yes/);
    assert.ok(tasks.some((task) => /deadman\.env/.test(task.name)));
    assert.deepEqual(deadman.ingress, [
      { port: 9096, from: ['monitoring'], why: "the dead man's switch: Alertmanager's Watchdog heartbeat" },
    ]);
    assert.deepEqual(
      rolesOf(mail1, undefined).map((role) => role.name),
      ['common', 'mail', 'deadman'],
    );
  });

  it("when the inventory has a switch, then Alertmanager's Watchdog goes to it; without one, to the local notifier", () => {
    assert.equal(templateValues(mon1, play).alertmanager.ALERT_DEADMAN_URL, 'http://10.0.2.20:9096');
    assert.equal(
      templateValues(mon1, { hosts: [mon1, host('mail1', '10.0.2.20', ['mail'])] }).alertmanager.ALERT_DEADMAN_URL,
      'http://127.0.0.1:9095',
    );
  });
});
