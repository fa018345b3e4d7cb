import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const DeployRecordSchema = z.object({
  at: z.string(),
  who: z.string(),
  environment: z.string(),
  action: z.enum(['deploy', 'rollback', 'contract']),
  version: z.string().optional(),
  colour: z.string().optional(),
  /** The images by digest: the version identifier end to end (commit → tag → digest). */
  images: z.record(z.string(), z.string()).optional(),
  result: z.enum(['switched', 'refused', 'failed', 'done']),
  reason: z.string().optional(),
  /** Milliseconds from the command's start to traffic switched (or to the failure). */
  ms: z.number().optional(),
});
export type DeployRecord = z.infer<typeof DeployRecordSchema>;

/** The deploy log: one JSON line per deploy, rollback or contract step — who, what, when, result. */
export class DeployLog {
  constructor(readonly file: string) {}

  append(record: DeployRecord): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    appendFileSync(this.file, `${JSON.stringify(DeployRecordSchema.parse(record))}\n`);
  }

  read(): DeployRecord[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => DeployRecordSchema.parse(JSON.parse(line)));
  }
}
