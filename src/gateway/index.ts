/** Gateway module: WebSocket sessions, CONNECT auth, heartbeats, backpressure, frame handling. */
export { Gateway, type GatewayOptions } from './gateway';
