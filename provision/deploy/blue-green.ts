import { performance } from 'node:perf_hooks';
import { migrationPhase, selectMigrations } from '../../api/src/migration-phase.js';
import { DeployLock, deployActor } from './lock.js';
import { DeployLog, type DeployRecord } from './log.js';
import { smokeFailures, smokeTest } from './smoke.js';
import { idleColour, statusLines, switched, type Colour, type Pool } from './state.js';
import type { DeployTarget } from './target.js';

export class DeployRefused extends Error {
  override readonly name = 'DeployRefused';
}

export interface Outcome {
  lines: string[];
  /** Milliseconds from the command's start to traffic on the new pool. */
  switchedAfterMs?: number;
}

type Say = (line: string) => void;

async function locked<T>(target: DeployTarget, action: string, work: () => Promise<T>): Promise<T> {
  const lock = DeployLock.acquire(target.lockFile, target.environment, action);
  try {
    return await work();
  } finally {
    lock.release();
  }
}

function record(target: DeployTarget, entry: Omit<DeployRecord, 'at' | 'who' | 'environment'>): void {
  new DeployLog(target.logFile).append({
    at: new Date().toISOString(),
    who: deployActor(),
    environment: target.environment,
    ...entry,
  });
}

/**
 * `deploy --version v`: the new version on the idle colour beside the live pool; the expand
 * migrations only; smoke tests against the idle colour directly; then the switch. Any failure
 * before the switch leaves traffic where it was, and says why. The old pool keeps running as the
 * fallback for `rollback`.
 */
export async function deploy(target: DeployTarget, version: string, say: Say = () => undefined): Promise<Outcome> {
  if (!/^[\w][\w.-]{0,127}$/.test(version))
    throw new DeployRefused(`"${version}" is not a version (an image tag: a commit sha)`);
  return locked(target, `deploy --version ${version}`, async () => {
    const started = performance.now();
    const state = await target.readState();
    const live = await target.livePool();
    if (live !== state.live) say(`note: HAProxy serves ${live}, the state said ${state.live}; trusting HAProxy`);
    const current = { ...state, live };
    const colour: Colour = idleColour(current);
    let images: Record<string, string> | undefined;
    const fail = (reason: string): never => {
      record(target, {
        action: 'deploy',
        version,
        colour,
        ...(images ? { images } : {}),
        result: 'refused',
        reason,
        ms: Math.round(performance.now() - started),
      });
      throw new DeployRefused(
        `deploy of ${version} to ${target.environment} refused, traffic stays on ${live}: ${reason}`,
      );
    };
    if (current.previous === colour) {
      // The idle colour is the fallback: replacing it ends the way back, whatever this deploy's
      // outcome, so the state says so before anything is touched.
      say(
        `${colour} was the fallback (${current.colours[colour]?.version ?? '?'}); it is replaced: no rollback until this deploy switches`,
      );
      const { [colour]: _replaced, ...others } = current.colours;
      current.previous = null;
      current.colours = others;
      await target.writeState(current);
    }
    try {
      images = await target.resolveImages(version);
      say(
        `version ${version}: ${Object.entries(images)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      const files = await target.migrationFiles(images as Record<'api' | 'web', string>);
      const selection = selectMigrations(files, await target.appliedMigrations(), 'expand');
      if (selection.waiting.length > 0) {
        say(
          `contract migrations wait for \`npm run deploy -- ${target.environment} contract\` (the fallback may still need the old schema): ${selection.waiting.join(', ')}`,
        );
      }
      if (selection.apply.some((name) => migrationPhase(name) === 'contract'))
        fail('a contract migration would run in a deploy');
      say(`expand migrations to apply: ${selection.apply.length === 0 ? 'none' : selection.apply.join(', ')}`);
      await target.migrate(colour, version, images as Record<'api' | 'web', string>, 'expand');
      say(`starting ${version} as ${colour} (live: ${live})`);
      await target.start(colour, version, images as Record<'api' | 'web', string>);
    } catch (error) {
      if (error instanceof DeployRefused) throw error;
      fail((error as Error).message);
    }
    const checks = await smokeTest(target.prober(colour), version, await target.smokeToken());
    for (const c of checks) say(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    if (checks.some((c) => !c.ok)) fail(`smoke tests failed on ${colour}: ${smokeFailures(checks)}`);
    try {
      await target.waitInRotation(colour);
    } catch (error) {
      fail((error as Error).message);
    }
    await target.switchTo(colour);
    const switchedAfterMs = Math.round(performance.now() - started);
    const at = new Date().toISOString();
    await target.writeState(
      switched(
        { ...current, colours: { ...current.colours, [colour]: { version, images: images ?? {}, deployedAt: at } } },
        colour,
        at,
      ),
    );
    record(target, {
      action: 'deploy',
      version,
      colour,
      images: images ?? {},
      result: 'switched',
      ms: switchedAfterMs,
    });
    return {
      lines: [
        `${target.environment}: traffic on ${colour} (${version}) after ${(switchedAfterMs / 1000).toFixed(1)} s; ${live} kept running as the fallback`,
      ],
      switchedAfterMs,
    };
  });
}

/** `rollback`: traffic back to the fallback pool at once (it kept running: nothing is rebuilt or started). */
export async function rollback(target: DeployTarget): Promise<Outcome> {
  return locked(target, 'rollback', async () => {
    const started = performance.now();
    const state = await target.readState();
    const to: Pool | null = state.previous;
    if (to === null)
      throw new DeployRefused(
        `rollback of ${target.environment} refused: no deploy to roll back (live: ${state.live})`,
      );
    let health = await target.health(to);
    if (health === 'UP' && to !== 'base') {
      // HAProxy checks the web servers only: the colour's API must be ready too.
      const ready = await target
        .prober(to)('api', 'GET', '/readyz')
        .catch((error: unknown) => ({ status: 0, body: (error as Error).message }));
      if (ready.status !== 200) health = `its API is not ready (HTTP ${ready.status} ${ready.body.slice(0, 200)})`;
    }
    if (health !== 'UP') {
      record(target, {
        action: 'rollback',
        colour: to,
        result: 'refused',
        reason: `fallback ${to} is not up: ${health}`,
      });
      throw new DeployRefused(
        `rollback of ${target.environment} refused, traffic stays on ${state.live}: the fallback ${to} is not up (${health})`,
      );
    }
    await target.switchTo(to);
    const ms = Math.round(performance.now() - started);
    const at = new Date().toISOString();
    await target.writeState(switched(state, to, at));
    const version = to === 'base' ? await target.baseVersion() : (state.colours[to]?.version ?? '?');
    record(target, { action: 'rollback', colour: to, version, result: 'switched', ms });
    return {
      lines: [
        `${target.environment}: traffic back on ${to} (${version}) after ${(ms / 1000).toFixed(1)} s; ${state.live} kept running`,
      ],
      switchedAfterMs: ms,
    };
  });
}

/** `status`: which pool serves which version since when, and what HAProxy's health checks say. */
export async function status(target: DeployTarget): Promise<Outcome> {
  const state = await target.readState();
  const live = await target.livePool();
  const health: Partial<Record<Pool, string>> = {};
  for (const pool of ['base', 'blue', 'green'] as const)
    if (pool === 'base' || state.colours[pool]) health[pool] = await target.health(pool);
  const lines = statusLines({ ...state, live }, health, await target.baseVersion());
  return { lines: [`${target.environment} (lock: ${target.lockFile}, log: ${target.logFile})`, ...lines] };
}

/**
 * `contract`: the contract migrations, a separate step after a deploy, once nothing needs the old
 * schema. The fallback runs the old version, so it is stopped first (`--retire-fallback`), and
 * rollback is no longer possible: the command refuses without that flag.
 */
export async function contract(target: DeployTarget, retireFallback: boolean): Promise<Outcome> {
  return locked(target, 'contract', async () => {
    const state = await target.readState();
    if (state.live === 'base')
      throw new DeployRefused(`contract on ${target.environment} refused: no deploy yet (live: base)`);
    const live = state.colours[state.live];
    if (!live)
      throw new DeployRefused(
        `contract on ${target.environment} refused: the live colour ${state.live} has no recorded version`,
      );
    if (state.previous !== null) {
      if (!retireFallback) {
        throw new DeployRefused(
          `contract on ${target.environment} refused: the fallback ${state.previous} (${state.previous === 'base' ? 'the base install' : (state.colours[state.previous]?.version ?? '?')}) still runs and may still need the old schema, which the contract migrations break; ` +
            `once ${live.version} is trusted: npm run deploy -- ${target.environment} contract --retire-fallback`,
        );
      }
      await target.stop(state.previous);
    }
    const out = await target.migrate(
      state.live,
      live.version,
      live.images as Record<'api' | 'web', string>,
      'contract',
    );
    await target.writeState({ ...state, previous: null });
    record(target, { action: 'contract', version: live.version, colour: state.live, result: 'done' });
    return {
      lines: [
        `${target.environment}: contract migrations applied with ${live.version}${state.previous ? `; ${state.previous} stopped (no rollback past this point)` : ''}`,
        out.trim(),
      ],
    };
  });
}
