/** Gateway module: WebSocket and long-poll sessions, CONNECT auth, heartbeats, backpressure, frame handling. */
export { Gateway, type GatewayOptions } from './gateway';
export { ClientAddresses, type AdmissionLimits } from './admission';
