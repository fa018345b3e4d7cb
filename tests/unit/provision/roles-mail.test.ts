import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { FileFact } from '../../../provision/facts/files.js';
import type { Host } from '../../../provision/inventories/schema.js';
import { allowedNetworks, mail, relayValues } from '../../../provision/roles/mail/index.js';
import { roleInputs } from '../../support/role-inputs.js';

const host = (name: string, groups: string[], vars: Record<string, unknown> = {}, address = '10.0.5.10'): Host => ({
  name,
  address,
  port: 22,
  groups,
  vars,
});
const relay = {
  mail_relayhost: '[email-smtp.eu-west-1.amazonaws.com]:587',
  mail_relay_user: 'AKIAEXAMPLE',
  mail_relay_password: 'pass word',
};
const mail1 = host('mail1', ['mail'], relay);
const api1 = host('api1', ['api'], {}, '10.0.2.10');
const mon1 = host('mon1', ['monitoring'], {}, '10.0.4.10');
const web1 = host('web1', ['web'], {}, '10.0.1.10');
const play = { hosts: [web1, api1, mon1, mail1], inputs: await roleInputs(mail, [mail1]) };

/** main.cf as the role would write it on a host that has none, parsed into name → value. */
function mainCf(target: Host = mail1): Map<string, string> {
  const task = mail.tasks(target, play).find((candidate) => candidate.name.startsWith('Render main.cf'));
  assert.ok(task);
  const content = (task.operation.plan(null).diff ?? '')
    .split('\n')
    .slice(3)
    .filter((line) => line.startsWith('+'))
    .map((line) => line.slice(1));
  return new Map(
    content
      .filter((line) => /^[a-z_]+ =/.test(line))
      .map((line) => [line.slice(0, line.indexOf(' =')), line.slice(line.indexOf('=') + 1).trim()]),
  );
}

describe('mail role: main.cf in relay mode, from the image template', () => {
  it('when rendered, then it relays everything to the relayhost with SASL over TLS, as the entrypoint does for MAIL_MODE=relay', () => {
    const cf = mainCf();
    assert.equal(cf.get('myhostname'), 'mail1');
    assert.equal(cf.get('relayhost'), '[email-smtp.eu-west-1.amazonaws.com]:587');
    assert.equal(cf.get('virtual_alias_maps'), '');
    assert.equal(cf.get('default_transport'), 'smtp');
    assert.equal(cf.get('relay_transport'), 'smtp');
    assert.equal(cf.get('smtp_sasl_auth_enable'), 'yes');
    assert.equal(cf.get('smtp_sasl_password_maps'), 'hash:/etc/postfix/sasl_passwd');
    assert.equal(cf.get('smtp_tls_security_level'), 'encrypt');
    // Postfix's own $parameters stay; the log goes to syslog (the journal), not the image's /dev/stdout.
    assert.equal(cf.get('myorigin'), '$myhostname');
    assert.equal(cf.get('maillog_file'), '');
  });

  it('when no relay user is set, then SASL is off and no credentials file is managed', () => {
    const plain = host('mail1', ['mail'], { mail_relayhost: '[relay.example]:25' });
    assert.equal(relayValues(plain, play).MAIL_SMTP_SASL_AUTH, 'no');
    assert.equal(relayValues(plain, play).MAIL_SMTP_SASL_PASSWORD_MAPS, '');
    assert.ok(!mail.tasks(plain, play).some((task) => task.name.includes('sasl_passwd')));
  });

  it('when the senders are api and monitoring hosts, then mynetworks is loopback and their addresses, and port 25 admits those groups', () => {
    assert.equal(mainCf().get('mynetworks'), '127.0.0.0/8 10.0.2.10/32 10.0.4.10/32');
    assert.deepEqual(
      mail.ingress?.map((rule) => [rule.port, rule.from]),
      [[25, ['api', 'monitoring']]],
    );
  });

  it('when mail_allowed_networks is set, then it wins; when a sender has only a name, then it is required', () => {
    assert.deepEqual(allowedNetworks(mail1, play, ['10.0.0.0/16']), ['10.0.0.0/16']);
    assert.throws(
      () => allowedNetworks(mail1, { hosts: [host('api1', ['api'], {}, 'api1.internal')] }, undefined),
      /^Error: host mail1: role mail: vars\.mail_allowed_networks: required, since api1 \(api1\.internal\) has no IPv4 address/,
    );
  });

  it('when a var is missing or does not fit, then the error names the host, the role and the var', () => {
    assert.throws(
      () => mail.tasks(host('mail2', ['mail']), play),
      /^Error: host mail2: role mail: vars\.mail_relayhost: required: the SMTP relay to send through/,
    );
    assert.throws(
      () => mail.tasks(host('mail2', ['mail'], { mail_relayhost: 'relay.example; rm' }), play),
      /host mail2: role mail: vars\.mail_relayhost: a Postfix relayhost/,
    );
    assert.throws(
      () => mail.tasks(host('mail2', ['mail'], { mail_relayhost: '[r]:587', mail_relay_user: 'u' }), play),
      /host mail2: role mail: vars\.mail_relay_password: required with mail_relay_user \(keep it in the vault\)/,
    );
    assert.throws(
      () => mail.tasks(host('mail2', ['mail'], { mail_relayhost: '[r]:587', mail_relay_password: 'p' }), play),
      /host mail2: role mail: vars\.mail_relay_user: required with mail_relay_password/,
    );
  });
});

describe('mail role: the relay credentials', () => {
  const credentials = () => {
    const task = mail.tasks(mail1, play).find((candidate) => candidate.name.includes('credentials'));
    assert.ok(task);
    return task;
  };

  it('when written, then the file is root-only, goes through stdin, and neither the report nor the diff shows the password', () => {
    const plan = credentials().operation.plan(null);
    assert.equal(plan.commands.length, 1);
    const write = plan.commands[0];
    assert.deepEqual(write?.argv.slice(5, 8), ['0600', 'root', 'root']);
    assert.equal(write.stdin, '[email-smtp.eu-west-1.amazonaws.com]:587 AKIAEXAMPLE:pass word\n');
    for (const text of [plan.reason, plan.diff ?? '', write.argv.join(' ')])
      assert.ok(!text.includes('pass word'), text);
    assert.deepEqual(credentials().notify, ['reload postfix']);
  });

  it('when the file is up to date, then nothing is written (its hash is compared: the content is not read back)', () => {
    const written = credentials().operation.plan(null).commands[0]?.stdin;
    assert.equal(typeof written, 'string');
    const current: FileFact = {
      type: 'regular file',
      owner: 'root',
      group: 'root',
      mode: 0o600,
      size: 1,
      sha256: createHash('sha256')
        .update(written as string)
        .digest('hex'),
      content: null,
    };
    assert.equal(credentials().operation.plan(current).changed, false);
  });

  it('when indexed, then postmap runs unless the index already holds exactly the file (no secret in the probe)', () => {
    const index = mail.tasks(mail1, play).find((task) => task.name.startsWith('Index'));
    assert.ok(index);
    assert.deepEqual(index.operation.fact.command.slice(0, 2), ['sh', '-c']);
    assert.ok(!index.operation.fact.command.join(' ').includes('pass word'));
    assert.deepEqual(
      index.operation.plan(false).commands.map((command) => command.argv.join(' ')),
      ['postmap /etc/postfix/sasl_passwd'],
    );
    assert.equal(index.operation.plan(true).changed, false);
  });

  it('when main.cf changes, then the handler runs postfix check before reloading', () => {
    assert.deepEqual(
      mail.handlers['reload postfix']?.commands.map((command) => command.argv.join(' ')),
      ['postfix check', 'systemctl reload postfix.service'],
    );
  });
});
