/**
 * The labels swarm puts on containers, shared by the layers that write and read them (cluster
 * creates and rescheduling, services, the engine's label indexes). Values as classic swarm and
 * swarm mode spell them, so tools that know those read ours.
 */

/** A container's cluster-wide identity (classic): kept across rescheduling. */
export const SWARM_ID_LABEL = 'com.docker.swarm.id';
/** Classic's reschedule policies, a JSON list: `["on-node-failure"]`. */
export const RESCHEDULE_LABEL = 'com.docker.swarm.reschedule-policies';
/** Swarm mode's task labels (services). */
export const SERVICE_ID_LABEL = 'com.docker.swarm.service.id';
