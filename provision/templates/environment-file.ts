/**
 * An EnvironmentFile= for systemd: one KEY="value" per line. systemd reads a double-quoted value
 * back with \\, \", \` and \$ unescaped and everything else literal (systemd.exec(5), "EnvironmentFile"),
 * so any password survives; a line break could not, and is refused.
 */
export function renderEnvironmentFile(environment: Readonly<Record<string, string>>): string {
  return Object.entries(environment)
    .map(([key, value]) => {
      if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) throw new Error(`"${key}" is not an environment variable name`);
      // eslint-disable-next-line no-control-regex
      if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value))
        throw new Error(`${key}: a control character or line break cannot be written to an environment file`);
      return `${key}="${value.replace(/[\\"`$]/g, (char) => `\\${char}`)}"\n`;
    })
    .join('');
}
