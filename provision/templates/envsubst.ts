/**
 * Renders a template the way the images render it at start-up with `envsubst '${A} ${B}'`: only the
 * named `${VAR}`s are replaced, everything else (nginx's `$host`, shell's `$1`) stays as written.
 * One renderer for the role, one template file for both: dev and prod cannot drift.
 */
export function renderEnvsubst(
  template: string,
  values: Readonly<Record<string, string>>,
  source = 'template',
): string {
  const missing = [...template.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)]
    .map((match) => match[1] ?? '')
    .filter((name) => !(name in values));
  if (missing.length > 0)
    throw new Error(`${source}: no value for ${[...new Set(missing)].map((name) => `\${${name}}`).join(', ')}`);
  return template.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_whole, name: string) => values[name] ?? '');
}

/** Renders a template of the repo, read before planning; errors name it by its path in the repo. */
export function renderTemplate(file: URL, template: string, values: Readonly<Record<string, string>>): string {
  return renderEnvsubst(template, values, file.pathname.replace(/^.*?\/(compose|monitoring|web|api)\//, '$1/'));
}
