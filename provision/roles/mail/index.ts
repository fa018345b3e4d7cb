import { z } from 'zod';
import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { command } from '../../operations/command.js';
import { file } from '../../operations/files.js';
import { run } from '../../operations/operation.js';
import { service } from '../../operations/systemd.js';
import { renderTemplate } from '../../templates/envsubst.js';
import { endpoint, playInputs, type IngressRule, type Play, type Role, type Task } from '../role.js';
import { roleVars } from '../vars.js';

/** The one main.cf of the platform: the mail image's template, rendered here in relay mode. */
export const mainCfTemplate = new URL('../../../compose/mail/main.cf.template', import.meta.url);

/** The groups whose hosts hand mail to the relay (the API's mail, Alertmanager and the notifier on monitoring). */
export const senderGroups = ['api', 'monitoring'] as const;

const saslPasswd = '/etc/postfix/sasl_passwd';

const hostName = z
  .string()
  .regex(
    /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/,
    'a host name (letters, digits, dots and dashes)',
  );
const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

const vars = z
  .object({
    /** Postfix's myhostname (HELO, Message-Id, the sender domain of local mail); default: the inventory's host name. */
    mail_hostname: hostName.optional(),
    /** The provider's SMTP relay, as Postfix writes it: brackets skip the MX lookup. */
    mail_relayhost: z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? 'required: the SMTP relay to send through, e.g. [email-smtp.eu-west-1.amazonaws.com]:587'
            : 'a string',
      })
      .regex(
        /^(\[[A-Za-z0-9.-]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/,
        'a Postfix relayhost, e.g. [email-smtp.eu-west-1.amazonaws.com]:587',
      ),
    /** SASL credentials for the relay (from the vault); without a user, no SASL. */
    mail_relay_user: z.string().regex(/^\S+$/, 'a user name without whitespace').optional(),
    mail_relay_password: z
      .string()
      .regex(/^[^\r\n]+$/, 'one line, not empty')
      .optional(),
    /** Who may send through this relay; default: loopback and the addresses of the hosts in the sender groups. */
    mail_allowed_networks: z
      .array(z.string().regex(/^[0-9.]+(\/\d{1,2})?$/, 'an IPv4 address or network (10.0.2.0/24)'))
      .min(1)
      .optional(),
  })
  .superRefine((value, context) => {
    if (value.mail_relay_user !== undefined && value.mail_relay_password === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['mail_relay_password'],
        message: 'required with mail_relay_user (keep it in the vault)',
      });
    }
    if (value.mail_relay_password !== undefined && value.mail_relay_user === undefined) {
      context.addIssue({ code: 'custom', path: ['mail_relay_user'], message: 'required with mail_relay_password' });
    }
  });

type MailVars = z.output<typeof vars>;

function parseVars(host: Host): MailVars {
  return roleVars(vars, host, 'mail');
}

/**
 * mynetworks: loopback, and each sender host's address. Postfix matches client addresses, not names,
 * so a sender known only by a name needs mail_allowed_networks.
 */
export function allowedNetworks(host: Host, play: Play, configured: readonly string[] | undefined): string[] {
  if (configured) return [...configured];
  const senders = play.hosts.filter((peer) =>
    peer.groups.some((group) => (senderGroups as readonly string[]).includes(group)),
  );
  const named = senders.filter((sender) => !ipv4.test(sender.address));
  if (named.length > 0) {
    throw new Error(
      `host ${host.name}: role mail: vars.mail_allowed_networks: required, since ${named.map((sender) => `${sender.name} (${sender.address})`).join(', ')} ` +
        'has no IPv4 address in the inventory and Postfix admits senders by address',
    );
  }
  return [...new Set(['127.0.0.0/8', ...senders.map((sender) => `${sender.address}/32`)])];
}

/** The template's values in relay mode: the same as compose/mail/entrypoint.sh sets for MAIL_MODE=relay. */
export function relayValues(host: Host, play: Play, settings: MailVars = parseVars(host)): Record<string, string> {
  const sasl = settings.mail_relay_user !== undefined;
  return {
    MAIL_HOSTNAME: settings.mail_hostname ?? host.name,
    MAIL_ALLOWED_NETWORKS: allowedNetworks(host, play, settings.mail_allowed_networks).join(' '),
    MAIL_RELAYHOST: settings.mail_relayhost,
    MAIL_VIRTUAL_ALIAS_MAPS: '',
    MAIL_DEFAULT_TRANSPORT: 'smtp',
    MAIL_SMTP_TLS_LEVEL: 'encrypt',
    MAIL_SMTP_SASL_AUTH: sasl ? 'yes' : 'no',
    MAIL_SMTP_SASL_PASSWORD_MAPS: sasl ? `hash:${saslPasswd}` : '',
    // Empty: syslog, i.e. the journal (the image's /dev/stdout does not exist for a systemd service).
    MAIL_LOG_FILE: '',
  };
}

function tasks(host: Host, play: Play): Task[] {
  const settings = parseVars(host);
  const values = relayValues(host, play, settings);
  const saslTasks: Task[] =
    settings.mail_relay_user === undefined || settings.mail_relay_password === undefined
      ? []
      : [
          {
            name: `Write the relay's credentials (from the vault) to ${saslPasswd}, readable by root only`,
            operation: file({
              path: saslPasswd,
              content: `${settings.mail_relayhost} ${settings.mail_relay_user}:${settings.mail_relay_password}\n`,
              mode: '0600',
              sensitive: true,
            }),
            notify: ['reload postfix'],
          },
          {
            name: `Index ${saslPasswd} for Postfix (postmap)`,
            // The index holds exactly the file's line (postmap -s prints key TAB value): no secret on a command line.
            operation: command({
              argv: ['postmap', saslPasswd],
              unless: [
                'sh',
                '-c',
                `postmap -s hash:${saslPasswd} 2>/dev/null | sed 's/\\t/ /' | cmp -s - ${saslPasswd}`,
              ],
            }),
            notify: ['reload postfix'],
          },
        ];
  return [
    {
      name: 'Tell debconf that this role, not the installer, configures Postfix',
      // As the image does: "No configuration" leaves main.cf absent until the role renders it.
      operation: command({
        argv: ['sh', '-c', "echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections"],
        unless: [
          'sh',
          '-c',
          `[ "$(dpkg-query --show --showformat='\${db:Status-Status}' postfix 2>/dev/null)" = installed ]`,
        ],
      }),
    },
    {
      name: 'Install Postfix, its SASL modules and the CA certificates',
      operation: packages({ packages: ['postfix', 'libsasl2-modules', 'ca-certificates'], present: true }),
    },
    {
      name: `Render main.cf from compose/mail/main.cf.template (relay through ${settings.mail_relayhost})`,
      operation: file({
        path: '/etc/postfix/main.cf',
        content: renderTemplate(mainCfTemplate, playInputs(play).text(mainCfTemplate), values),
        mode: '0644',
      }),
      notify: ['reload postfix'],
    },
    ...saslTasks,
    {
      name: 'Keep Postfix enabled and running',
      operation: service({ unit: 'postfix.service', enabled: true, running: true }),
    },
  ];
}

const ingress: IngressRule[] = [
  { port: 25, from: senderGroups, why: 'SMTP from the hosts that send mail (API, monitoring)' },
];

/** The platform's mail relay: Postfix in production (relay) mode, main.cf from the mail image's template. */
export const mail: Role = {
  name: 'mail',
  ingress,
  // The image's template, read before planning.
  inputs: () => ({ files: [mainCfTemplate] }),
  // The provider's relay, by name (its addresses are the provider's): its port, anywhere.
  egress: (host) => {
    const relayhost = host.vars.mail_relayhost;
    const relay = typeof relayhost === 'string' ? /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(relayhost) : null;
    if (!relay) return [];
    return [
      {
        port: Number(relay[3] ?? '25'),
        to: endpoint(relay[1] ?? relay[2] ?? ''),
        why: 'the SMTP relay (var mail_relayhost)',
      },
    ];
  },
  tasks,
  handlers: {
    // Checked before the reload: a main.cf Postfix rejects never replaces the running one.
    'reload postfix': {
      name: 'reload postfix',
      commands: [run('postfix', 'check'), run('systemctl', 'reload', 'postfix.service')],
    },
  },
};
