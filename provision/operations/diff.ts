interface Line {
  tag: ' ' | '-' | '+';
  text: string;
  /** 1-based line numbers in the old and the new text (of the line, or of the one before an insertion/deletion). */
  oldLine: number;
  newLine: number;
}

/** The edit script from `a` to `b`: longest common subsequence (configuration files are small enough for O(n·m)). */
function editScript(a: string[], b: string[]): Line[] {
  const width = b.length + 1;
  const lcs = new Int32Array((a.length + 1) * width);
  const at = (i: number, j: number) => lcs[i * width + j] ?? 0;
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i * width + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
  }
  const script: Line[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j])
      script.push({ tag: ' ', text: a[i] ?? '', oldLine: ++i, newLine: ++j });
    else if (i < a.length && (j === b.length || at(i + 1, j) >= at(i, j + 1)))
      script.push({ tag: '-', text: a[i] ?? '', oldLine: ++i, newLine: j });
    else script.push({ tag: '+', text: b[j] ?? '', oldLine: i, newLine: ++j });
  }
  return script;
}

const splitLines = (text: string) => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));

/** A unified diff (3 lines of context) between two texts, as `diff -u` prints it; '' when equal. */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  if (before === after) return '';
  const script = editScript(splitLines(before), splitLines(after));
  const changedAt = script.flatMap((line, index) => (line.tag === ' ' ? [] : [index]));
  const out = [`--- ${path}`, `+++ ${path} (desired)`];
  let k = 0;
  while (k < changedAt.length) {
    // A hunk takes every change within 2·context lines of the previous one.
    let last = changedAt[k] ?? 0;
    const first = last;
    while (k + 1 < changedAt.length && (changedAt[k + 1] ?? 0) - last <= 2 * context) last = changedAt[++k] ?? last;
    k++;
    const hunk = script.slice(Math.max(0, first - context), Math.min(script.length, last + context + 1));
    const olds = hunk.filter((line) => line.tag !== '+');
    const news = hunk.filter((line) => line.tag !== '-');
    const oldFrom = olds[0]?.oldLine ?? hunk[0]?.oldLine ?? 0;
    const newFrom = news[0]?.newLine ?? hunk[0]?.newLine ?? 0;
    out.push(
      `@@ -${oldFrom},${olds.length} +${newFrom},${news.length} @@`,
      ...hunk.map((line) => `${line.tag}${line.text}`),
    );
  }
  return `${out.join('\n')}\n`;
}
