/**
 * A real ZooKeeper 3.8 (Debian's `zookeeper` package) for tests, run as `java ... QuorumPeerMain
 * zoo.cfg` directly: Debian's zkEnv.sh hard-codes /etc and /var/log paths, and running java
 * ourselves gives us its pid. Own dataDir, clientPort, no admin server. tickTime 500ms makes
 * session timeouts of 1s..60s possible, so TTL tests can use short TTLs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';
import { startRestartable, type RestartableServer } from './restartable';

const ZOOKEEPER_CLASSPATH = '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar';

export interface ZookeeperServer extends RestartableServer {
  endpoint: string;
}

/**
 * ZooKeeper's "ruok" four-letter command answers "imok" once the server serves clients. A
 * starting server can accept the connection and never answer, hence the timeout.
 */
function ruok(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end('ruok'));
    let reply = '';
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('data', (d) => (reply += d.toString()));
    socket.on('close', () => resolve(reply === 'imok'));
    socket.on('error', () => resolve(false));
  });
}

export async function startZookeeper(): Promise<ZookeeperServer> {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-ts-zk-'));
  const port = await freePort();
  const config = join(dir, 'zoo.cfg');
  writeFileSync(
    config,
    [
      'tickTime=500',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr',
      'minSessionTimeout=1000',
      'maxSessionTimeout=60000',
      '',
    ].join('\n'),
  );
  const args = ['-cp', ZOOKEEPER_CLASSPATH, `-Dzookeeper.log.dir=${dir}`, '-Dzookeeper.admin.enableServer=false', '-Xmx256m', 'org.apache.zookeeper.server.quorum.QuorumPeerMain', config];
  const server = await startRestartable({
    name: 'zookeeper', command: 'java', args, env: { ZOO_LOG_DIR: dir }, dir,
    ready: () => ruok(port), readyTimeoutMs: 30_000, what: `zookeeper on 127.0.0.1:${port}`,
  });
  return { ...server, endpoint: `127.0.0.1:${port}` };
}
