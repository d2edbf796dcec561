import * as http from 'http';
import * as net from 'net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it (listen on port 0),
 * we release it and hand it out. Another process could grab it before our server binds it,
 * so callers that start a server should retry with a new port if binding fails.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a listening socket'));
        return;
      }
      const port = address.port;
      server.close(() => resolve(port));
    });
  });
}

/** True when something accepts TCP connections on host:port right now. */
export function isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * True when GET http://127.0.0.1:port/_ping answers 200 (dockerd and the manager both serve it);
 * with `socketPath`, asks over that unix socket instead.
 */
export function answersPing(port: number, timeoutMs = 1000, socketPath?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const target = socketPath ? { socketPath } : { host: '127.0.0.1', port };
    const req = http.get({ ...target, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
