/**
 * Throw-away TLS material for tests, made with the openssl CLI: a CA, a server certificate for
 * 127.0.0.1/localhost and a client certificate, both signed by the CA. Used to run real stores
 * (etcd) with client-certificate auth; reusable for the manager's --tlsverify tests.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsFiles {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA's file, to test verification failures. */
  otherCa: string;
  /** A client certificate signed by the other CA (what a stranger would present). */
  otherClientCert: string;
  otherClientKey: string;
  /** A DOCKER_CERT_PATH for the docker CLI: ca.pem, cert.pem (client.pem), key.pem. */
  clientCertPath: string;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export function makeTlsFiles(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-ts-tls-'));
  const days = ['-days', '2'];
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-subj', '/CN=swarm-ts test CA', ...days], dir);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca-key.pem', '-out', 'other-ca.pem', '-subj', '/CN=other CA', ...days], dir);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subject] of [['server', '/CN=127.0.0.1'], ['client', '/CN=swarm-ts client']]) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-extfile', `${name}.ext`, ...days], dir);
  }
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-client-key.pem', '-out', 'other-client.csr', '-subj', '/CN=stranger'], dir);
  openssl(['x509', '-req', '-in', 'other-client.csr', '-CA', 'other-ca.pem', '-CAkey', 'other-ca-key.pem', '-CAcreateserial', '-out', 'other-client.pem', '-extfile', 'client.ext', ...days], dir);
  const clientCertPath = join(dir, 'docker-client');
  mkdirSync(clientCertPath);
  copyFileSync(join(dir, 'ca.pem'), join(clientCertPath, 'ca.pem'));
  copyFileSync(join(dir, 'client.pem'), join(clientCertPath, 'cert.pem'));
  copyFileSync(join(dir, 'client-key.pem'), join(clientCertPath, 'key.pem'));
  return {
    dir,
    otherClientCert: join(dir, 'other-client.pem'),
    otherClientKey: join(dir, 'other-client-key.pem'),
    clientCertPath,
    ca: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client-key.pem'),
    otherCa: join(dir, 'other-ca.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
