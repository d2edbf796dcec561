/**
 * `swarm join`: registers one engine address with the discovery backend and refreshes it every
 * heartbeat, forever. Failures (store down) are logged and retried on the next heartbeat, so a
 * join survives the store going away and coming back.
 */
import { randomInt } from 'node:crypto';
import { UnsupportedError } from '../../discovery/discovery';
import { log } from '../log';
import type { Command } from './command';
import { UsageError } from './command';
import { durationFlag, openDiscovery, requireDiscovery } from './discovery-flags';
import { DISCOVERY_OPT_FLAG, flagHelp, parseFlags, type FlagSpec } from './flags';
import { isAdvertiseAddress } from '../host-port';

const FLAGS: FlagSpec[] = [
  { name: 'advertise', aliases: ['addr'], type: 'string', env: 'SWARM_ADVERTISE', help: 'host:port of the engine joining the cluster, as managers reach it (e.g. 192.168.0.1:2375)' },
  { name: 'heartbeat', type: 'string', default: '60s', help: 'period between each heartbeat' },
  { name: 'ttl', type: 'string', default: '180s', help: 'set the expiration of an ephemeral node' },
  { name: 'delay', type: 'string', default: '0s', help: 'add a random delay in [0s,delay[ to avoid synchronized registration' },
  DISCOVERY_OPT_FLAG,
];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const joinCommand: Command = {
  name: 'join',
  aliases: ['j'],
  summary: 'Join a docker cluster',
  help: `Usage: swarm join [OPTIONS] <discovery>

Join a docker cluster: register --advertise with the discovery service every --heartbeat.
<discovery> is e.g. etcd://127.0.0.1:2379/prefix, consul://127.0.0.1:8500/prefix,
zk://127.0.0.1:2181/prefix or token://<token> (falls back to $SWARM_DISCOVERY).

Options:
${flagHelp(FLAGS)}
`,
  async run(args: string[]): Promise<void> {
    const { values, positionals } = parseFlags(FLAGS, args, 'join');
    const url = requireDiscovery(positionals, 'join', 'join');
    const advertise = values.advertise as string | undefined;
    if (!advertise) throw new UsageError('missing mandatory --advertise flag');
    if (!isAdvertiseAddress(advertise)) throw new UsageError('--advertise should be of the form ip:port or hostname:port');
    const heartbeatMs = durationFlag(values, 'heartbeat');
    if (heartbeatMs < 1000) throw new UsageError('--heartbeat should be at least one second');
    const ttlMs = durationFlag(values, 'ttl');
    if (ttlMs <= heartbeatMs) throw new UsageError('--ttl must be strictly superior to the heartbeat value');
    const delayMs = durationFlag(values, 'delay');
    if (delayMs < 0) throw new UsageError('--delay should not be a negative number');

    const discovery = openDiscovery(url, values, { heartbeatMs, ttlMs });
    if (delayMs > 0) await sleep(randomInt(0, Math.max(1, Math.floor(delayMs))));
    log.info(`Registering on the discovery service every ${values.heartbeat}...`, { addr: advertise, discovery: url });
    for (;;) {
      try {
        await discovery.register(advertise);
        log.debug('Registered', { addr: advertise });
      } catch (err) {
        if (err instanceof UnsupportedError) {
          await discovery.close();
          throw new UsageError(`${url.split('://')[0]} discovery: ${err.message}`);
        }
        log.error(`Registering ${advertise} failed: ${(err as Error).message}`, { addr: advertise, discovery: url });
      }
      await sleep(heartbeatMs);
    }
  },
};
