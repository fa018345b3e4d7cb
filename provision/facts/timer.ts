import type { Fact } from './fact.js';
import { combineFacts } from './fact.js';
import type { FileFact } from './files.js';
import { fileFact } from './files.js';
import type { ServiceFact } from './systemd.js';
import { serviceFact } from './systemd.js';

export interface TimerFact {
  /** /etc/systemd/system/<name>.service */
  service: FileFact | null;
  /** /etc/systemd/system/<name>.timer */
  timer: FileFact | null;
  /** The state of <name>.timer. */
  unit: ServiceFact;
}

/** A timer's two unit files and the timer's state, in one probe. */
export function timerFact(name: string): Fact<TimerFact> {
  return combineFacts<TimerFact>(`timer ${name}`, {
    service: fileFact(`/etc/systemd/system/${name}.service`),
    timer: fileFact(`/etc/systemd/system/${name}.timer`),
    unit: serviceFact(`${name}.timer`),
  });
}
