import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

// A YAML file checked by a zod schema, its problems reported with the file, the line and the path
// inside it: the inventory and the vault's vars.

/** One problem in an inventory file, where it is and why. */
export interface InventoryIssue {
  /** "hosts.web1.port" */
  path: string;
  /** 1-based line in the file, when the path exists there. */
  line?: number;
  message: string;
}

export class InventoryError extends Error {
  constructor(
    readonly file: string,
    readonly issues: InventoryIssue[],
    /** What the file should have been. */
    what = 'inventory',
  ) {
    super(
      `${file}: invalid ${what}\n${issues.map((issue) => `  ${file}${issue.line ? `:${issue.line}` : ''}: ${issue.path || '(top)'}: ${issue.message}`).join('\n')}`,
    );
    this.name = 'InventoryError';
  }
}

/** YAML parsed with line numbers, or the InventoryError of its syntax errors. */
export function parseYaml(
  text: string,
  file: string,
  what: string,
): { document: Document.Parsed; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new InventoryError(
      file,
      document.errors.map((error) => ({
        path: '',
        line: lineCounter.linePos(error.pos[0]).line,
        message: error.message.split('\n')[0] ?? 'not YAML',
      })),
      what,
    );
  }
  return { document, lineCounter };
}

/** Zod's issues, each with the line of the deepest node of its path that the file has. */
export function issuesOf(
  issues: readonly z.core.$ZodIssue[],
  document: Document.Parsed,
  lineCounter: LineCounter,
): InventoryIssue[] {
  return issues.map((issue) => {
    const keys = issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key));
    let line: number | undefined;
    for (let depth = keys.length; depth >= 0 && line === undefined; depth--) {
      const node = document.getIn(keys.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) line = lineCounter.linePos(node.range[0]).line;
    }
    // A bad record key: the key's own rule says why ("a variable name is snake_case").
    const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    return { path: keys.join('.'), ...(line === undefined ? {} : { line }), message };
  });
}
