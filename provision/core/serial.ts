/**
 * Ansible's `serial` and `max_fail_percentage`, for a play, and rolling roles (a role's hosts at most
 * N at a time, the roll stopped by the first failure): what keeps a deploy from restarting every API
 * host at once, or going on to the next host after one failed to come back.
 */

/** One step of `serial`: a count of hosts or a percentage of the play's hosts (the last step repeats). */
export type SerialStep = { hosts: number } | { percent: number };

/** `--serial 1,5,50%`: batch sizes in order, the last one repeated for the rest (Ansible's list form). */
export function parseSerial(spec: string): SerialStep[] {
  const steps = spec.split(',').map((word) => word.trim());
  if (steps.length === 0 || steps.some((word) => word === ''))
    throw new Error(`"${spec}": a list of host counts or percentages (1,5,50%)`);
  return steps.map((word) => {
    const match = /^(\d+)(%?)$/.exec(word);
    const value = Number(match?.[1]);
    if (!match || value < 1 || (match[2] === '%' && value > 100))
      throw new Error(`"${word}": a host count (1 or more) or a percentage (1% to 100%)`);
    return match[2] === '%' ? { percent: value } : { hosts: value };
  });
}

/** The batches' sizes for `total` hosts: a percentage rounds down but is at least one host. */
export function batchSizes(total: number, steps: readonly SerialStep[]): number[] {
  if (steps.length === 0) return total === 0 ? [] : [total];
  const sizes: number[] = [];
  let left = total;
  for (let index = 0; left > 0; index += 1) {
    const step = steps[Math.min(index, steps.length - 1)] as SerialStep;
    const size = 'hosts' in step ? step.hosts : Math.max(1, Math.floor((total * step.percent) / 100));
    sizes.push(Math.min(size, left));
    left -= size;
  }
  return sizes;
}

/** The hosts cut into batches, in inventory order. */
export function batches<T>(items: readonly T[], steps: readonly SerialStep[]): T[][] {
  let start = 0;
  return batchSizes(items.length, steps).map((size) => items.slice(start, (start += size)));
}

/**
 * Why the play stops after a batch, or null to go on. As Ansible: with `max_fail_percentage` the play
 * stops when the batch's failed share is above it; without one, only when every host of the batch failed.
 */
export function batchStops(failed: number, size: number, maxFailPercentage: number | undefined): string | null {
  if (failed === 0) return null;
  if (maxFailPercentage === undefined)
    return failed === size ? `every host of the batch failed (${failed} of ${size})` : null;
  const percent = (failed / size) * 100;
  return percent > maxFailPercentage
    ? `${failed} of ${size} hosts failed (${Math.round(percent)}% > max_fail_percentage ${maxFailPercentage}%)`
    : null;
}

/**
 * The rolls of the roles that declare `serial`: a host takes a place in each of its rolling roles
 * (in name order, so two hosts never wait on each other) for its whole run, handlers included, and
 * gives it back when done; a host that failed stops the roll, and the role's hosts still waiting or
 * not started are skipped.
 */
export class Rolls {
  private readonly free = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();
  private readonly stopped = new Map<string, string>();

  constructor(serial: ReadonlyMap<string, number>) {
    for (const [role, size] of serial) this.free.set(role, size);
  }

  /** Waits for a place in each of the host's rolling roles: the release, or why a roll has stopped (then nothing is held). */
  async enter(
    host: string,
    roles: readonly string[],
  ): Promise<{ release: (failed: boolean) => void } | { stopped: string }> {
    const rolling = [...new Set(roles)].filter((role) => this.free.has(role)).sort();
    const held: string[] = [];
    const leave = () => held.splice(0).forEach((role) => this.give(role));
    for (const role of rolling) {
      const stopped = this.stopped.get(role);
      if (stopped) {
        leave();
        return { stopped };
      }
      await this.take(role);
      held.push(role);
      const stoppedMeanwhile = this.stopped.get(role);
      if (stoppedMeanwhile) {
        leave();
        return { stopped: stoppedMeanwhile };
      }
    }
    return {
      release: (failed) => {
        if (failed)
          for (const role of held)
            if (!this.stopped.has(role)) this.stopped.set(role, `the roll of role ${role} stopped: ${host} failed`);
        leave();
      },
    };
  }

  private async take(role: string): Promise<void> {
    const free = this.free.get(role) ?? 0;
    if (free > 0) {
      this.free.set(role, free - 1);
      return;
    }
    await new Promise<void>((resolve) => this.waiting.set(role, [...(this.waiting.get(role) ?? []), resolve]));
  }

  private give(role: string): void {
    const [next, ...rest] = this.waiting.get(role) ?? [];
    if (next) {
      this.waiting.set(role, rest);
      next(); // the place passes straight to the next host in line
    } else {
      this.free.set(role, (this.free.get(role) ?? 0) + 1);
    }
  }
}
