/** Start/stop plumbing shared by the local stand-in servers. */
import type {Server} from 'node:http';
import type {AddressInfo} from 'node:net';

/** Listens on a free 127.0.0.1 port and returns the base URL. */
export async function listenLoopback(server: Server): Promise<string> {
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes a server and its kept-alive connections; a no-op when it never started. */
export async function closeServer(server: Server | undefined): Promise<void> {
  if (!server?.listening) return;
  server.closeAllConnections();
  await new Promise<void>(r => server.close(() => r()));
}
