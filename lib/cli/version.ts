/** The swarm-ts version, and the classic swarm version whose behaviour it matches. */
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const VERSION: string = (require('../../../package.json') as { version: string }).version;
export const GIT_COMMIT = process.env.SWARM_GIT_COMMIT ?? 'HEAD';
