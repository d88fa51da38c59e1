/**
 * The PROXY protocol's text header (version 1, as HAProxy's `send-proxy` writes it): a TCP
 * load balancer in front of the MQTT port says who the client is, as X-Forwarded-For does
 * over HTTP. Believed only from TRUST_PROXY peers (the listener decides); without it every
 * MQTT client behind the balancer would share the balancer's address and its opening limits.
 *
 *   PROXY TCP4 203.0.113.7 10.0.0.2 51234 1883\r\n
 */
import { isIP, type Socket } from 'node:net';

/** The longest version-1 header, CRLF included (the specification's bound). */
const maxHeaderBytes = 107;
const signature = Buffer.from('PROXY ');

/**
 * Reads the header from the start of `socket`, then hands back the client's address (null
 * when the header says UNKNOWN, or when the peer sent no header: it is its own client) with
 * every byte after the header put back for the next reader. Refuses (null result through
 * `done` with `ok: false`) a header that starts but is malformed, or that does not arrive
 * within `timeoutMs`.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number, done: (result: { ok: true; address: string | null } | { ok: false }) => void): void {
  let buffered = Buffer.alloc(0);
  let finished = false;
  const finish = (result: { ok: true; address: string | null } | { ok: false }, rest: Buffer | null): void => {
    if (finished) return;
    finished = true;
    socket.removeListener('data', onData);
    clearTimeout(deadline);
    socket.pause();
    if (rest !== null && rest.length > 0) socket.unshift(rest);
    done(result);
  };
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const prefix = Math.min(buffered.length, signature.length);
    if (!buffered.subarray(0, prefix).equals(signature.subarray(0, prefix))) {
      finish({ ok: true, address: null }, buffered); // no header: the peer speaks for itself
      return;
    }
    const end = buffered.indexOf('\r\n');
    if (end < 0) {
      if (buffered.length >= maxHeaderBytes) finish({ ok: false }, null);
      return;
    }
    const address = parseHeader(buffered.subarray(0, end).toString('latin1'));
    finish(address === undefined ? { ok: false } : { ok: true, address }, buffered.subarray(end + 2));
  };
  socket.on('data', onData);
  // An absolute deadline: a peer trickling the header byte by byte does not extend it.
  const deadline = setTimeout(() => finish({ ok: false }, null), timeoutMs);
  deadline.unref();
}

/** The source address of a header line (no CRLF); null for UNKNOWN; undefined when malformed. */
export function parseHeader(line: string): string | null | undefined {
  const parts = line.split(' ');
  if (parts[0] !== 'PROXY') return undefined;
  if (parts[1] === 'UNKNOWN') return null;
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return undefined;
  const family = isIP(parts[2]);
  if (family !== (parts[1] === 'TCP4' ? 4 : 6) || isIP(parts[3]) !== family) return undefined;
  if (!isPort(parts[4]) || !isPort(parts[5])) return undefined;
  return parts[2];
}

function isPort(text: string): boolean {
  return /^(0|[1-9][0-9]{0,4})$/.test(text) && Number(text) <= 65535;
}
