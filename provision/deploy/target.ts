import type { Prober } from './smoke.js';
import type { Colour, DeployState, Pool } from './state.js';

export type MigrationPhaseName = 'expand' | 'contract';
export type Images = Record<'api' | 'web', string>;

/** What blue-green needs from an environment; the replica implements it (replica.ts). */
export interface DeployTarget {
  readonly environment: string;
  readonly lockFile: string;
  readonly logFile: string;
  readState(): Promise<DeployState>;
  writeState(state: DeployState): Promise<void>;
  baseVersion(): Promise<string>;
  resolveImages(version: string): Promise<Images>;
  appliedMigrations(): Promise<string[]>;
  migrationFiles(images: Images): Promise<string[]>;
  migrate(colour: Colour, version: string, images: Images, phase: MigrationPhaseName): Promise<string>;
  start(colour: Colour, version: string, images: Images): Promise<void>;
  prober(colour: Colour): Prober;
  smokeToken(): Promise<string>;
  health(pool: Pool): Promise<string>;
  waitInRotation(pool: Pool): Promise<void>;
  livePool(): Promise<Pool>;
  switchTo(pool: Pool): Promise<void>;
  stop(pool: Pool): Promise<void>;
}
