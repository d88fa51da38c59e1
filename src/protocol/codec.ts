/**
 * Decoding of client frames: parse once, validate once with a schema compiled at start.
 * Server-side only (it uses ajv); the SDK imports frames.ts, not this file.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { clientFrameTypes, type ClientFrame, type Limits } from './frames';
import { ProtocolError } from './errors';
import { cutText, echoableRef, illFormedField, illFormedMessage } from './text';

/** Result of decoding one client frame: the frame, or an error to answer with. */
export type DecodeResult =
  | { ok: true; frame: ClientFrame }
  | { ok: false; error: ProtocolError; ref: string | null };

/** Decodes and validates raw client frames against the configured limits. */
export class FrameDecoder {
  private readonly validate: ValidateFunction<ClientFrame>;

  constructor(private readonly limits: Limits) {
    const ajv = new Ajv({ discriminator: true, allErrors: false, strict: true });
    this.validate = ajv.compile<ClientFrame>(clientFrameSchema(limits));
  }

  /** Parses and validates one text frame. Never throws. */
  decode(text: string): DecodeResult {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { ok: false, error: new ProtocolError('bad_request', 'frame is not valid JSON'), ref: null };
    }
    return this.check(value);
  }

  /**
   * Validates a value already parsed (a REST body merged with its path parameters): one
   * schema per frame type, whatever carried it, so every transport gives the same error
   * for the same cause (an over-long body is `too_large` everywhere). Never throws.
   */
  check(value: unknown): DecodeResult {
    const ref = refOf(value);
    // Before the schema, so that REST (whose bodies are checked as they are parsed) and
    // frames give the same answer when a field is both ill-formed and, say, too long.
    const illFormed = illFormedField(value);
    if (illFormed !== null) return { ok: false, error: new ProtocolError('bad_request', `${typeOf(value)}${illFormed} ${illFormedMessage}`), ref };
    if (this.validate(value)) return { ok: true, frame: value };
    const err = this.validate.errors?.[0];
    const tooLong = err !== undefined && (err.keyword === 'maxLength' || err.keyword === 'maxItems') &&
      err.instancePath === '/body';
    return {
      ok: false,
      error: new ProtocolError(tooLong ? 'too_large' : 'bad_request', describe(err, value)),
      ref,
    };
  }
}

/** "SEND: " for a frame of a known type, so the message names the frame as describe() does. */
function typeOf(value: unknown): string {
  const type = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).type : undefined;
  return typeof type === 'string' && knownTypes.includes(type) ? `${type}: ` : '';
}

function refOf(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  return echoableRef((value as Record<string, unknown>).client_msg_id, 64);
}

/**
 * Prefixes of the idempotency keys the server gives its own events: the link preview of
 * message N is keyed "link_preview:N", the display size of attachment A "attachment_ready:A"
 * (one each); a client's key of that form would collide with them.
 */
export const reservedIdPrefixes = { linkPreview: 'link_preview:', attachmentReady: 'attachment_ready:' } as const;
const reserved = Object.values(reservedIdPrefixes);

const knownTypes: readonly string[] = clientFrameTypes;

function describe(err: ErrorObject | undefined, value: unknown): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'frame must be a JSON object';
  const type = (value as Record<string, unknown>).type;
  if (typeof type !== 'string') return 'frame has no string "type"';
  if (!knownTypes.includes(type)) return `unknown frame type "${cutText(type, 32)}"`;
  if (!err) return 'invalid frame';
  const field = err.instancePath ? err.instancePath.slice(1).replace(/\//g, '.') : '';
  if (err.keyword === 'required') return `${type}: missing field "${String(err.params.missingProperty)}"`;
  if (err.keyword === 'pattern' && field === 'client_msg_id') return `${type}: client_msg_id must not start with ${reserved.map((p) => `"${p}"`).join(' or ')} (reserved)`;
  if (err.keyword === 'additionalProperties') {
    return `${type}: unknown field "${String(err.params.additionalProperty)}"`;
  }
  return `${type}: ${field || 'frame'} ${err.message ?? 'is invalid'}`;
}

/** JSON schema of every client frame, discriminated by `type`. */
function clientFrameSchema(l: Limits): object {
  const id = { type: 'string', minLength: 1, maxLength: l.maxIdChars };
  const clientMsgId = { ...id, pattern: `^(?!${reserved.join('|')})` };
  const seq = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
  const ids = (max: number) => ({ type: 'array', maxItems: max, items: id });
  const frame = (type: string, props: Record<string, object>, required: string[]) => ({
    type: 'object',
    properties: { type: { const: type }, ...props },
    required: ['type', ...required],
    additionalProperties: false,
  });
  return {
    type: 'object',
    discriminator: { propertyName: 'type' },
    oneOf: [
      frame(
        'CONNECT',
        {
          token: { type: 'string', minLength: 1, maxLength: 4096 },
          device_id: id,
          sync: {
            type: 'object',
            properties: {
              convs: { type: 'object', maxProperties: 10_000, additionalProperties: seq },
              inbox_cursor: { type: 'string', maxLength: 128 },
            },
            additionalProperties: false,
          },
        },
        ['token', 'device_id'],
      ),
      frame(
        'SEND',
        {
          client_msg_id: clientMsgId,
          conv_id: id,
          body: { type: 'string', maxLength: l.maxBodyChars },
          reply_to: seq,
          attachments: ids(l.maxAttachments),
          mentions: ids(l.maxMentions),
        },
        ['client_msg_id', 'conv_id', 'body'],
      ),
      frame(
        'REACT',
        {
          client_msg_id: clientMsgId,
          conv_id: id,
          target_seq: seq,
          // Shape only; actors check it is one emoji (grapheme clusters need Intl.Segmenter).
          emoji: { anyOf: [{ type: 'null' }, { type: 'string', minLength: 1, maxLength: l.maxEmojiChars }] },
        },
        ['client_msg_id', 'conv_id', 'target_seq', 'emoji'],
      ),
      frame(
        'EDIT',
        { client_msg_id: clientMsgId, conv_id: id, target_seq: seq, body: { type: 'string', maxLength: l.maxBodyChars } },
        ['client_msg_id', 'conv_id', 'target_seq', 'body'],
      ),
      frame('DELETE', { client_msg_id: clientMsgId, conv_id: id, target_seq: seq }, ['client_msg_id', 'conv_id', 'target_seq']),
      frame(
        'MUTE',
        // -1 is "forever"; any other value is a time in ms since the epoch.
        { conv_id: id, until: { anyOf: [{ type: 'null' }, { const: -1 }, { type: 'integer', minimum: 0, maximum: 8.64e15 }] } },
        ['conv_id', 'until'],
      ),
      frame('MARK_UNREAD', { conv_id: id }, ['conv_id']),
      frame('DELIVERED', { conv_id: id, seq }, ['conv_id', 'seq']),
      frame('READ', { conv_id: id, seq }, ['conv_id', 'seq']),
      frame('TYPING', { conv_id: id, state: { enum: ['started', 'stopped'] } }, ['conv_id', 'state']),
      frame('PRESENCE_SUB', { user_ids: ids(l.maxPresenceSub) }, ['user_ids']),
      frame('PING', {}, []),
    ],
  };
}
