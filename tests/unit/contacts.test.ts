// The contacts file (monitoring/contacts.yaml) against what routes alerts: the replica's defaults in
// docker-compose.yml and production's inventory. One list; a second copy that drifts is an error.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { repoRoot } from '../support/paths.js';

const contactsSchema = z.strictObject({
  environments: z.strictObject({
    replica: z.strictObject({ email: z.email(), sms: z.array(z.string().regex(/^\+[1-9]\d{6,14}$/)).min(1) }),
    production: z.strictObject({ email: z.email() }),
  }),
  rota: z.array(z.strictObject({ role: z.string(), reach: z.string() })).min(2),
  escalation: z.array(z.strictObject({ after_minutes: z.number().int().min(0), step: z.string() })).min(2),
});
const contacts = contactsSchema.parse(parse(readFileSync(path.join(repoRoot, 'monitoring/contacts.yaml'), 'utf8')));
const compose = readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
const defaults = (name: string) =>
  [...compose.matchAll(new RegExp(`\\$\\{${name}:-([^}]*)\\}`, 'g'))].map((match) => match[1]);

describe('the contacts file feeds the alert routing', () => {
  it('when the replica routes alerts, then its email and SMS recipients are the contacts file’s', () => {
    const email = defaults('ALERT_EMAIL_TO');
    const sms = defaults('SMS_RECIPIENTS');
    assert.ok(
      email.length >= 1 && sms.length >= 1,
      'docker-compose.yml has no ALERT_EMAIL_TO / SMS_RECIPIENTS defaults',
    );
    for (const value of email) assert.equal(value, contacts.environments.replica.email);
    for (const value of sms) assert.equal(value, contacts.environments.replica.sms.join(','));
  });

  it('when production routes alerts, then the inventory mails the contacts file’s address', () => {
    const inventory = parse(readFileSync(path.join(repoRoot, 'provision/inventories/prod.yaml'), 'utf8')) as {
      groups: Record<string, Record<string, unknown>>;
    };
    assert.equal(inventory.groups.monitoring?.alert_email_to, contacts.environments.production.email);
    assert.deepEqual(inventory.groups.deadman?.deadman_to, [contacts.environments.production.email]);
  });

  it('when escalation is read, then its steps come in order of time', () => {
    const minutes = contacts.escalation.map((step) => step.after_minutes);
    assert.deepEqual(
      minutes,
      [...minutes].sort((a, b) => a - b),
    );
  });
});
