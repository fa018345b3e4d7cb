/** The common role's own configuration files: one source, read by the role (and the provisioning lab). */
const source = (name: string) => new URL(`files/${name}`, import.meta.url);

/** Network hardening sysctls; the lab gives its containers the same values at create time. */
export const sysctlHardeningSource = source('sysctl-hardening.conf');
/** apt's periodic jobs: refresh lists, run unattended-upgrade. */
export const autoUpgradesSource = source('20auto-upgrades');
/** unattended-upgrade: security origin only. */
export const unattendedUpgradesSource = source('52refereezy-unattended-upgrades');
/** The one sshd_config of the platform: the bastion image's, rendered as it is (no second copy). */
export const sshdConfigSource = new URL('../../../compose/bastion/sshd_config', import.meta.url);
