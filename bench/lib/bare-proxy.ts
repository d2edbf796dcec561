/**
 * A bare keep-alive HTTP proxy to one engine, run as its own process:
 *
 *   node dist/bench/lib/bare-proxy.js <listen port> <engine port>
 *
 * The overhead benchmark measures it next to the manager as the floor cost of one extra Node
 * HTTP hop: what any proxying manager pays before doing any work of its own.
 */
import http from 'node:http';

function main(): void {
  const [listenPort, enginePort] = process.argv.slice(2).map(Number);
  if (!Number.isInteger(listenPort) || !Number.isInteger(enginePort)) {
    process.stderr.write('usage: node dist/bench/lib/bare-proxy.js <listen port> <engine port>\n');
    process.exit(2);
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: enginePort, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: err.message }));
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  server.listen(listenPort, '127.0.0.1');
}

main();
