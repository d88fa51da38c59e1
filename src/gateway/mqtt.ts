/**
 * The MQTT transport's listeners (docs/protocol.md, "MQTT"): plain TCP on MQTT_PORT, and
 * MQTT over WebSocket at /mqtt on the HTTP server. Each connection is an MqttConnection,
 * which carries one session like a WebSocket or a long-poll queue does.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { ClientAddresses, type Admitted } from './admission';
import { MqttConnection, newMqttParser, type MqttHost, type MqttLimits, type MqttSettings } from './mqtt-connection';
import { DueAcks, Parsers, RefusedWaiting } from './mqtt-shared';
import { readProxyHeader } from './proxy-protocol';

/** What the listener needs of the gateway beyond what each connection needs. */
export interface MqttListenerHost extends MqttHost {
  /** Whether a connection from `address` (or the WebSocket upgrade `req`) may open a session. */
  admitAddress(address: string): Admitted;
  admit(req: IncomingMessage): Admitted;
}

/** How long a PUBACK waits for a frame to ride with before it goes alone (docs/protocol.md, "Acknowledgements"). */
const pubackDelayMs = 10;
/** Connections refused by the opening limits that may wait at once to hear why; more are dropped. */
const maxRefusedWaiting = 1000;

/** Refuses an upgrade with an HTTP answer (the gateway's, shared with /ws). */
export type RefuseUpgrade = (socket: Duplex, refusal: Extract<Admitted, { ok: false }>['refusal']) => void;

export class MqttListener {
  private tcp: Server | null = null;
  private readonly wss: WebSocketServer;
  /** TRUST_PROXY: peers whose PROXY protocol header names the client. */
  private readonly proxies: ClientAddresses;
  private readonly opts: MqttSettings;

  constructor(
    private readonly host: MqttListenerHost,
    limits: MqttLimits,
    private readonly refuseUpgrade: RefuseUpgrade,
    trustProxy: readonly string[],
  ) {
    this.proxies = new ClientAddresses(trustProxy);
    this.opts = { ...limits, parsers: new Parsers(newMqttParser), acks: new DueAcks(pubackDelayMs), refused: new RefusedWaiting(maxRefusedWaiting) };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: limits.maxPacketBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // MQTT over WebSocket names its subprotocol "mqtt" (MQTT 5.0, 6.0); old clients "mqttv3.1".
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
    });
  }

  /** Listens on `port` (0: any free port); resolves with the port taken. */
  async listen(port: number, host: string): Promise<number> {
    const server = createServer({ noDelay: true }, (socket) => this.onSocket(socket));
    this.tcp = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        // Port 1883 is often taken by a local MQTT broker already: say what to do.
        reject(err.code === 'EADDRINUSE' ? new Error(`MQTT_PORT ${port} is in use (another MQTT broker?): set MQTT_PORT to a free port, or to off`) : err),
      );
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  private onSocket(socket: Socket): void {
    const peer = socket.remoteAddress ?? '';
    if (!this.proxies.isTrusted(peer)) {
      const address = ClientAddresses.peer(peer);
      this.open(socket, socket, this.host.admitAddress(address), address);
      return;
    }
    // A TCP load balancer's connection: its PROXY header says whose it is.
    socket.on('error', ignore);
    readProxyHeader(socket, this.opts.connectTimeoutMs, (result) => {
      if (!result.ok) {
        socket.destroy();
        return;
      }
      const address = ClientAddresses.peer(result.address ?? peer);
      this.open(socket, socket, this.host.admitAddress(address), address);
      socket.removeListener('error', ignore); // the connection's own listener has it now
      socket.resume();
    });
  }

  /** The /mqtt upgrade of the HTTP server: refused with an HTTP answer like /ws when over the limits. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const admitted = this.host.admit(req);
    if (!admitted.ok) {
      this.refuseUpgrade(socket, admitted.refusal);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const stream = createWebSocketStream(ws);
      this.open(stream, socket as Socket, admitted, admitted.address);
    });
  };

  private open(stream: Duplex, socket: Socket, admitted: Admitted, address: string): void {
    new MqttConnection(stream, socket, address, admitted, this.host, this.opts);
  }

  /** Stops accepting connections (open ones are closed by the gateway's closeAll). */
  close(): void {
    this.tcp?.close();
    this.wss.close();
  }
}

function ignore(): void {
  // The connection's own listeners take over once the header is read; 'close' follows errors.
}
