import { createHash } from 'node:crypto';
import ssh2, { type Client, type ConnectConfig } from 'ssh2';

export interface SshTarget {
  port: number;
  username: string;
  /** SHA256 fingerprint ("SHA256:…") the server's host key must have. */
  hostKeyFingerprint: string;
}

/** Connects, verifying the host key against the expected fingerprint; rejects on any failure. */
export function connectSsh(
  target: SshTarget,
  auth: Pick<ConnectConfig, 'privateKey' | 'password' | 'tryKeyboard'>,
): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client
      .once('ready', () => resolve(client))
      .once('error', (error) => reject(error))
      .connect({
        host: '127.0.0.1',
        port: target.port,
        username: target.username,
        readyTimeout: 10_000,
        hostVerifier: (key: Buffer) =>
          `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}` ===
          target.hostKeyFingerprint,
        ...auth,
      });
  });
}

export function sshExec(client: Client, command: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, stream) => {
      if (error) return reject(error);
      let stdout = '';
      stream.on('data', (data: Buffer) => (stdout += data.toString()));
      stream.stderr.resume();
      stream.on('close', (code: number) => resolve({ code, stdout }));
    });
  });
}

/**
 * Opens a TCP channel through the SSH server to host:port (what ProxyJump does), sends one HTTP/1.0
 * request and returns the raw answer.
 */
export function httpThroughTunnel(client: Client, host: string, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
      if (error) return reject(error);
      let answer = '';
      channel.on('data', (data: Buffer) => (answer += data.toString()));
      channel.on('close', () => resolve(answer));
      channel.end(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\n\r\n`);
    });
  });
}
