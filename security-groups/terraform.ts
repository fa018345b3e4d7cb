import type { SecurityGroups } from './schema.js';
import { awsDescription, externalSources, type ExternalSource } from './schema.js';

/** Where the rendered rules live: the security module reads local.security_groups and local.ingress_rules. */
export const renderedFile = new URL('../terraform/modules/security/rules.tf.json', import.meta.url);

export interface TerraformIngressRule {
  group: string;
  port: number;
  protocol: string;
  /** A group name, or the external source itself (internet, cloudfront, operators). */
  source: string;
  source_kind: 'group' | ExternalSource;
  description: string;
}

/** One Terraform rule per (group, port, source): "db-5432-tcp-from-api". */
export function terraformRules(source: SecurityGroups): Record<string, TerraformIngressRule> {
  const rules: Record<string, TerraformIngressRule> = {};
  for (const [group, g] of Object.entries(source.groups)) {
    for (const r of g.rules) {
      for (const from of r.from) {
        const kind = (externalSources as readonly string[]).includes(from) ? (from as ExternalSource) : 'group';
        // AWS takes 255 characters of a limited set in a rule's description (no quotes, no apostrophes).
        const description = Array.from(r.why, (character) => (awsDescription.test(character) ? character : ''))
          .join('')
          .slice(0, 255);
        rules[`${group}-${r.port}-${r.protocol}-from-${from}`] = {
          group,
          port: r.port,
          protocol: r.protocol,
          source: from,
          source_kind: kind,
          description,
        };
      }
    }
  }
  return rules;
}

/** rules.tf.json's text: Terraform's JSON syntax, with a comment ("//") saying where it comes from. */
export function renderTerraform(source: SecurityGroups): string {
  const document = {
    '//': 'Generated from security-groups/security-groups.yaml by `npm run security-groups -- generate`: edit that file, not this one.',
    locals: {
      security_groups: Object.fromEntries(
        Object.entries(source.groups).map(([group, g]) => [
          group,
          { description: g.description, attach: g.attach ?? 'own' },
        ]),
      ),
      ingress_rules: terraformRules(source),
    },
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
