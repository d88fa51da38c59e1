/**
 * Sends fuzzed inputs over real WebSocket sessions, one at a time, and checks each answer
 * against what docs/protocol.md promises for it: an ERROR for every refused frame (its code
 * the decoder's), an ACK or ERROR for every acked command, MUTE_SYNC / READ_SYNC / PONG
 * where they are due; closes only with documented codes, after which it reconnects.
 */
import fc from 'fast-check';
import { FrameDecoder, defaultLimits, clientFrameTypes, type ClientFrame } from '../../src/protocol';
import { TestSocket, sleep, type Frame, type TestServer, type Transport } from '../e2e/harness';
import { errorFrameProblem, eventProblem, expectedCloses } from './checks';
import { generatedFrame, mutated, validFrame, type Pools, type WireInput } from './inputs';

/** How long an answer may take on a loaded two-core machine before it counts as never sent. */
const answerTimeoutMs = 15_000;

/** What one fuzzing pass saw; `problems` must stay empty. */
export interface FrameFuzzReport {
  inputs: number;
  generated: number;
  mutated: number;
  firstFrames: number;
  /** Inputs long-poll cannot carry as one frame (binary, a newline inside, over its body cap): not sent. */
  skipped: number;
  outcomes: Record<string, number>;
  closes: Record<string, number>;
  problems: string[];
  /** Per conversation: duplicate ACKs (each may leave one seq unused) and the ACKed SENDs to find in the log. */
  duplicates: Map<string, number>;
  acked: { conv: string; seq: number; cmid: string }[];
}

export class FrameFuzzer {
  private sock: TestSocket | null = null;
  private readonly decoder = new FrameDecoder(defaultLimits);
  readonly report: FrameFuzzReport = { inputs: 0, generated: 0, mutated: 0, firstFrames: 0, skipped: 0, outcomes: {}, closes: {}, problems: [], duplicates: new Map(), acked: [] };

  constructor(
    private readonly server: TestServer,
    private readonly pools: Pools,
    /** Conversations the fuzzing user is in: a DELIVER of any other is a leak. */
    private readonly memberOf: ReadonlySet<string>,
    private readonly via: Transport = 'websocket',
  ) {}

  /**
   * Whether the carrier takes the input as one frame. A long-poll body is frames split at
   * newlines, holds text only, and over the hard cap is answered 413 with no frame read
   * (docs/protocol.md "Long-poll"), and an empty body carries nothing: such inputs test the
   * carrier, not the frame rules.
   */
  private carries(wire: WireInput): boolean {
    if (this.via === 'websocket') return true;
    // An empty body carries no frame at all (empty lines are skipped).
    return wire.kind === 'text' && wire.text !== '' && !/[\n\r]/.test(wire.text) && Buffer.byteLength(wire.text) <= 16 * defaultLimits.maxFrameBytes;
  }

  /** `count` inputs from `seed`: a third valid-shaped, a third generated with perturbed fields, a third mutated valid frames. */
  async run(seed: number, count: number): Promise<void> {
    const generated = fc.oneof(...clientFrameTypes.map((t) => generatedFrame(t, this.pools))).map((f): [WireInput, boolean] => [{ kind: 'text', text: JSON.stringify(f) }, false]);
    const mutations = fc.oneof(...clientFrameTypes.map((t) => validFrame(t, this.pools))).chain(mutated).map((w): [WireInput, boolean] => [w, true]);
    // Frames drawn from the fields' arbitraries without perturbation: most pass the schema and
    // reach the actors' rules and commits (perturbed ones mostly stop at the decoder).
    const shaped = fc.oneof(...clientFrameTypes.map((t) => validFrame(t, this.pools))).map((f): [WireInput, boolean] => [{ kind: 'text', text: JSON.stringify(f) }, false]);
    const input = fc.tuple(fc.oneof(shaped, generated, mutations), fc.nat({ max: 99 }));
    const chunk = 50;
    for (let i = 0; i < count; i += chunk) {
      // Drawn a chunk at a time: some inputs are megabytes, a whole run at once would skew the memory check.
      for (const [[wire, isMutation], dice] of fc.sample(input, { seed: seed + i, numRuns: Math.min(chunk, count - i) })) {
        if (!this.carries(wire)) {
          this.report.skipped++;
          continue;
        }
        if (isMutation) this.report.mutated++;
        else this.report.generated++;
        this.report.inputs++;
        // One input in twenty opens a session of its own: the first-frame rules.
        if (dice < 5) await this.firstFrame(wire);
        else await this.onSession(wire);
      }
    }
    this.sock?.close();
  }

  private count(outcome: string): void {
    this.report.outcomes[outcome] = (this.report.outcomes[outcome] ?? 0) + 1;
  }

  private problem(what: string, wire: WireInput): void {
    const shown = wire.kind === 'text' ? wire.text.slice(0, 300) : `<binary ${wire.bytes.length} bytes>`;
    if (this.report.problems.length < 50) this.report.problems.push(`${what}; input: ${shown}`);
  }

  private noteClose(code: number, wire: WireInput): void {
    this.report.closes[code] = (this.report.closes[code] ?? 0) + 1;
    if (!expectedCloses.has(code)) this.problem(`closed with undocumented code ${code}`, wire);
  }

  /** Opens a socket, riding out 429 at the upgrade (the opening limits) as a client must. */
  private async open(): Promise<TestSocket> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await TestSocket.open(this.server.wsUrl, {}, this.via);
      } catch (err) {
        if (attempt > 100) throw err;
        this.count('upgrade refused (429)');
        await sleep(250);
      }
    }
  }

  private async session(): Promise<TestSocket> {
    if (this.sock !== null && this.sock.closeCode === null) return this.sock;
    for (;;) {
      const sock = await this.open();
      sock.send({ type: 'CONNECT', token: this.pools.token, device_id: 'fuzz-dev' });
      try {
        await sock.next((f) => f.type === 'CONNACK', answerTimeoutMs);
        this.sock = sock;
        return sock;
      } catch (err) {
        throw new Error(`the fuzzing user could not connect: ${String(err)}`);
      }
    }
  }

  private static send(sock: TestSocket, wire: WireInput): void {
    if (wire.kind === 'binary') sock.ws.send(wire.bytes, { binary: true });
    else sock.send(wire.text);
  }

  /** Waits for the frame `pred` names; null when the socket closed first or time ran out. */
  private static async answer(sock: TestSocket, pred: (f: Frame) => boolean): Promise<Frame | null> {
    try {
      return await sock.next(pred, answerTimeoutMs);
    } catch {
      return null;
    }
  }

  /** An input as the first frame of a new session: CONNACK for a valid CONNECT, else its ERROR and a close. */
  private async firstFrame(wire: WireInput): Promise<void> {
    this.report.firstFrames++;
    const sock = await this.open();
    FrameFuzzer.send(sock, wire);
    const expected = this.expectation(wire);
    if (expected.kind === 'valid' && expected.frame.type === 'CONNECT' && expected.frame.token === this.pools.token) {
      const got = await FrameFuzzer.answer(sock, (f) => f.type === 'CONNACK' || f.type === 'ERROR');
      if (got?.type === 'CONNACK') this.count('first frame: CONNACK');
      else this.problem(`a valid CONNECT got ${JSON.stringify(got)}`, wire);
      sock.close();
      return;
    }
    const code = await Promise.race([sock.closed, sleep(answerTimeoutMs).then(() => null)]);
    if (code === null) {
      this.problem('a bad first frame left the session open', wire);
      sock.close();
      return;
    }
    this.noteClose(code, wire);
    const error = sock.frames.find((f) => f.type === 'ERROR');
    if (expected.kind === 'hardCap') {
      if (code !== 1009) this.problem(`a frame over the hard cap closed ${code}`, wire);
    } else if (error === undefined) this.problem(`a bad first frame closed ${code} with no ERROR`, wire);
    else {
      const bad = errorFrameProblem(error);
      if (bad !== null) this.problem(bad, wire);
      // A CONNECT valid in shape but with a bad token is unauthorized (4001); anything else 4002.
      const want = expected.kind === 'valid' && expected.frame.type === 'CONNECT' ? 4001 : 4002;
      if (code !== want) this.problem(`first frame closed ${code}, expected ${want}`, wire);
    }
    this.count(`first frame: closed ${code}`);
  }

  /** What the server must make of an input, from the documented limits and schema. */
  private expectation(wire: WireInput):
    | { kind: 'hardCap' }
    | { kind: 'refused'; code: string; ref: string | null }
    | { kind: 'valid'; frame: ClientFrame } {
    const size = wire.kind === 'binary' ? wire.bytes.length : Buffer.byteLength(wire.text);
    if (size > 16 * defaultLimits.maxFrameBytes) return { kind: 'hardCap' };
    if (size > defaultLimits.maxFrameBytes) return { kind: 'refused', code: 'too_large', ref: null };
    if (wire.kind === 'binary') return { kind: 'refused', code: 'bad_request', ref: null };
    const decoded = this.decoder.decode(wire.text);
    if (!decoded.ok) return { kind: 'refused', code: decoded.error.code, ref: decoded.ref };
    return { kind: 'valid', frame: decoded.frame };
  }

  /**
   * An input on a connected session, and the answer the protocol promises for it. A session
   * the server closed for an earlier input may still look open when this one is sent: then
   * nothing answers and the socket is closed, and the input goes again on a new session.
   */
  private async onSession(wire: WireInput, again = true): Promise<void> {
    try {
      await this.onSessionOnce(wire, again);
    } catch (err) {
      if (!(err instanceof SentAfterClose)) throw err;
      this.count('sent again after a close');
      await this.onSessionOnce(wire, false);
    }
  }

  private async onSessionOnce(wire: WireInput, again: boolean): Promise<void> {
    const sock = await this.session();
    FrameFuzzer.send(sock, wire);
    const expected = this.expectation(wire);
    const answer = async (pred: (f: Frame) => boolean): Promise<Frame | null> => {
      const found = await FrameFuzzer.answer(sock, pred);
      // A refusal that closes the session writes its ERROR first, so a close with no answer
      // was an earlier input's.
      if (found === null && sock.closeCode !== null && again) {
        this.noteClose(sock.closeCode, wire);
        throw new SentAfterClose();
      }
      return found;
    };
    let got: Frame | null = null;
    if (expected.kind === 'hardCap') {
      const code = await Promise.race([sock.closed, sleep(answerTimeoutMs).then(() => null)]);
      if (code !== 1009 && code !== null && again) throw new SentAfterClose();
      if (code !== 1009) this.problem(`a frame over the hard cap: close ${code}`, wire);
      else this.noteClose(code, wire);
      this.count('hard cap: closed 1009');
      return;
    }
    if (expected.kind === 'refused') {
      got = await answer((f) => f.type === 'ERROR' && f.ref === expected.ref && (f.code === expected.code || f.code === 'rate_limited'));
      if (got === null) this.problem(`no ERROR ${expected.code} (ref ${expected.ref}); closed ${sock.closeCode} ${sock.closeReason}; have ${JSON.stringify(sock.frames).slice(0, 300)}`, wire);
      else this.count(`refused: ${got.code}`);
    } else {
      const frame = expected.frame;
      const conv = 'conv_id' in frame ? frame.conv_id : null;
      switch (frame.type) {
        case 'SEND':
        case 'REACT':
        case 'EDIT':
        case 'DELETE': {
          const cmid = frame.client_msg_id;
          got = await answer((f) => (f.type === 'ACK' && f.client_msg_id === cmid && f.conv_id === conv) || (f.type === 'ERROR' && f.ref === cmid));
          if (got === null) this.problem(`${frame.type} got neither ACK nor ERROR`, wire);
          else if (got.type === 'ACK') {
            if (got.duplicate === true) this.report.duplicates.set(frame.conv_id, (this.report.duplicates.get(frame.conv_id) ?? 0) + 1);
            else if (frame.type === 'SEND') this.report.acked.push({ conv: frame.conv_id, seq: got.seq, cmid });
            this.count(`${frame.type}: ACK${got.duplicate ? ' duplicate' : ''}`);
          } else this.count(`${frame.type}: ${got.code}`);
          break;
        }
        case 'MUTE':
        case 'MARK_UNREAD': {
          const sync = frame.type === 'MUTE' ? 'MUTE_SYNC' : 'READ_SYNC';
          got = await answer((f) => (f.type === sync && f.conv_id === conv) || (f.type === 'ERROR' && f.ref === null));
          if (got === null) this.problem(`${frame.type} got neither ${sync} nor ERROR`, wire);
          else this.count(`${frame.type}: ${got.type === 'ERROR' ? got.code : sync}`);
          break;
        }
        case 'PING':
          got = await answer((f) => f.type === 'PONG' || (f.type === 'ERROR' && f.code === 'rate_limited'));
          if (got === null) this.problem('PING got neither PONG nor ERROR rate_limited', wire);
          else this.count(`PING: ${got.type === 'PONG' ? 'PONG' : 'rate_limited'}`);
          break;
        case 'CONNECT':
          got = await answer((f) => f.type === 'ERROR' && f.code === 'bad_request');
          if (got === null) this.problem('a second CONNECT got no ERROR', wire);
          else this.count('CONNECT again: bad_request');
          break;
        default:
          // DELIVERED, READ, TYPING, PRESENCE_SUB: answered by nothing when accepted; an
          // ERROR of theirs arrives later and is checked with the unclaimed frames.
          this.count(`${frame.type}: sent`);
      }
    }
    if (got?.type === 'ERROR') {
      const bad = errorFrameProblem(got);
      if (bad !== null) this.problem(bad, wire);
    }
    this.checkUnclaimed(sock, wire);
    if (sock.closeCode !== null) this.noteClose(sock.closeCode, wire);
  }

  /** Frames nobody waited for: each must be well-formed, and no DELIVER of a conversation the user is not in. */
  private checkUnclaimed(sock: TestSocket, wire: WireInput): void {
    for (const f of sock.frames.splice(0)) {
      if (f.type === 'ERROR') {
        const bad = errorFrameProblem(f);
        if (bad !== null) this.problem(bad, wire);
      } else if (f.type === 'DELIVER') {
        const { type: _t, ...event } = f;
        const bad = eventProblem(event, String(f.conv_id));
        if (bad !== null) this.problem(`DELIVER ${bad}`, wire);
        if (!this.memberOf.has(String(f.conv_id))) this.problem(`DELIVER of a conversation the user is not in: ${JSON.stringify(f)}`, wire);
      }
    }
  }
}

/** The session had been closed before the input went out: nothing was tested. */
class SentAfterClose extends Error {}
