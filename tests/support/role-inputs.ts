import type { Host } from '../../provision/inventories/schema.js';
import { neededInputs, PlanInputs } from '../../provision/roles/inputs.js';
import type { Play, Role } from '../../provision/roles/role.js';

/** What a role's tasks read for these hosts (repo files, trees, releases), prepared as the play prepares it. */
export function roleInputs(role: Role, hosts: readonly Host[], play: Play = { hosts }): Promise<PlanInputs> {
  return PlanInputs.prepare(neededInputs(hosts, play, () => [role]));
}
