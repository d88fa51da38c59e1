/**
 * REST: conversations, members, history and sync; sends, reactions, edits, deletes, mute,
 * mark unread and read go through the intake, as the same frames over WebSocket do.
 */
import { Router as ExpressRouter, type Response } from 'express';
import { ProtocolError, type AckFrame, type ConversationType } from '../protocol';
import type { ConversationRecord, MemberRecord } from '../store';
import type { Caller } from '../intake';
import { intParam, requireAuth, userOf, validator } from './http';
import type { ApiOptions } from './index';

interface CreateBody {
  type: ConversationType;
  member_ids: string[];
  title?: string;
}
/** The conversation as REST returns it. */
function view(conversation: ConversationRecord, members: MemberRecord[]) {
  return {
    conv_id: conversation.conv_id,
    type: conversation.type,
    title: conversation.title,
    created_at: conversation.created_at,
    last_seq: conversation.last_seq,
    members: members.map((m) => ({ user_id: m.user_id, role: m.role, joined_at: m.joined_at })),
  };
}

export function conversationRoutes(opts: ApiOptions): ExpressRouter {
  const { router, intake, reads, conversations, limits } = opts;
  const id = { type: 'string', minLength: 1, maxLength: limits.maxIdChars };
  const ids = (max: number) => ({ type: 'array', items: id, maxItems: max });
  const parseCreate = validator<CreateBody>({
    type: 'object',
    properties: {
      type: { enum: ['direct', 'group'] },
      member_ids: { ...ids(limits.maxGroupMembers), minItems: 1 },
      title: { type: 'string', minLength: 1, maxLength: 128 },
    },
    required: ['type', 'member_ids'],
    additionalProperties: false,
  });
  const parseMembers = validator<{ user_ids: string[] }>({
    type: 'object',
    properties: { user_ids: { ...ids(limits.maxGroupMembers), minItems: 1 } },
    required: ['user_ids'],
    additionalProperties: false,
  });
  /** The REST caller of a command: no session; read receipts per the user's stored setting. */
  const caller = (res: Response): Caller => {
    const userId = userOf(res);
    return {
      userId,
      sessionId: null,
      sendsReadReceipts: async () => (await opts.store.getUser(userId))?.settings.send_read_receipts ?? true,
    };
  };
  /** An ACK as REST answers it: 201 for a new event, 200 with `duplicate: true` for a retry. */
  const sendAck = (res: Response, { type: _type, ...ack }: AckFrame) => {
    res.status(ack.duplicate ? 200 : 201).json(ack);
  };
  const seqParam = (value: string) => intParam(value, 'seq', 0, 1);

  const r = ExpressRouter();
  r.use('/conversations', requireAuth(opts.auth));

  r.post('/conversations', async (req, res) => {
    const body = parseCreate(req.body);
    const created = await conversations.create(userOf(res), {
      type: body.type,
      member_ids: body.member_ids,
      title: body.title ?? null,
    });
    res.status(created.created ? 201 : 200).json(view(created.conversation, created.members));
  });

  r.get('/conversations', async (req, res) => {
    if (req.query.cursor !== undefined && typeof req.query.cursor !== 'string') throw new ProtocolError('bad_request', 'cursor must be given once');
    const cursor = req.query.cursor ? req.query.cursor : null;
    const page = await reads.inbox(userOf(res), cursor, intParam(req.query.limit, 'limit', 50, 1, 200));
    res.json({ conversations: page.rows, next_cursor: page.next_cursor });
  });

  r.get('/conversations/:id', async (req, res) => {
    const me = userOf(res);
    const { conversation, members } = await reads.details(me, req.params.id);
    // Members' markers let a new device draw "Seen by" and delivery ticks for history it
    // never saw RECEIPTs for. A member who hides read receipts shows null, as RECEIPT
    // kind=read would never have been sent for them.
    const hidden = new Set(
      (await opts.store.getUsers(members.filter((m) => m.user_id !== me).map((m) => m.user_id)))
        .filter((u) => !u.settings.send_read_receipts)
        .map((u) => u.user_id),
    );
    const body = view(conversation, members);
    res.json({
      ...body,
      members: body.members.map((m, i) => ({
        ...m,
        read_seq: hidden.has(m.user_id) ? null : members[i].last_read_seq,
        delivered_seq: members[i].last_delivered_seq,
      })),
    });
  });

  r.post('/conversations/:id/members', async (req, res) => {
    const body = parseMembers(req.body);
    const known = (await opts.store.getUsers(body.user_ids)).filter((u) => u.deleted_at === null);
    if (known.length !== new Set(body.user_ids).size) throw new ProtocolError('not_found', 'unknown user');
    const result = await router.dispatch({ op: 'add_members', conv_id: req.params.id, user_id: userOf(res), user_ids: body.user_ids });
    res.json({ ...view(result.conversation, result.members), seq: result.seq });
  });

  r.delete('/conversations/:id/members/:userId', async (req, res) => {
    const result = await router.dispatch({
      op: 'remove_member',
      conv_id: req.params.id,
      user_id: userOf(res),
      target_id: req.params.userId,
    });
    res.json({ seq: result.seq });
  });

  r.get('/conversations/:id/messages', async (req, res) => {
    const before = intParam(req.query.before, 'before', Number.MAX_SAFE_INTEGER);
    const limit = intParam(req.query.limit, 'limit', 50, 1, 200);
    res.json({ messages: await reads.messages(userOf(res), req.params.id, before, limit) });
  });

  r.get('/conversations/:id/events', async (req, res) => {
    const after = intParam(req.query.after, 'after', 0);
    const limit = intParam(req.query.limit, 'limit', 100, 1, 1000);
    res.json(await reads.events(userOf(res), req.params.id, after, limit));
  });

  r.post('/conversations/:id/messages', async (req, res) => {
    sendAck(res, await intake.run(caller(res), intake.fromRest('SEND', { conv_id: req.params.id }, req.body)));
  });

  r.post('/conversations/:id/messages/:seq/reactions', async (req, res) => {
    const frame = intake.fromRest('REACT', { conv_id: req.params.id, target_seq: seqParam(req.params.seq) }, req.body);
    sendAck(res, await intake.run(caller(res), frame));
  });

  r.patch('/conversations/:id/messages/:seq', async (req, res) => {
    const frame = intake.fromRest('EDIT', { conv_id: req.params.id, target_seq: seqParam(req.params.seq) }, req.body);
    sendAck(res, await intake.run(caller(res), frame));
  });

  r.delete('/conversations/:id/messages/:seq', async (req, res) => {
    // Many HTTP clients send no body with DELETE: the key may come as a query parameter.
    const fromQuery = typeof req.query.client_msg_id === 'string' ? { client_msg_id: req.query.client_msg_id } : undefined;
    const sent: unknown = req.body;
    const hasBody = typeof sent === 'object' && sent !== null && Object.keys(sent).length > 0;
    const frame = intake.fromRest('DELETE', { conv_id: req.params.id, target_seq: seqParam(req.params.seq) }, hasBody ? sent : (fromQuery ?? {}));
    sendAck(res, await intake.run(caller(res), frame));
  });

  r.get('/conversations/:id/threads/:seq', async (req, res) => {
    const seq = seqParam(req.params.seq);
    const after = intParam(req.query.after, 'after', 0);
    const limit = intParam(req.query.limit, 'limit', 50, 1, 200);
    res.json(await reads.thread(userOf(res), req.params.id, seq, after, limit));
  });

  r.put('/conversations/:id/mute', async (req, res) => {
    const result = await intake.run(caller(res), intake.fromRest('MUTE', { conv_id: req.params.id }, req.body));
    res.json({ conv_id: req.params.id, ...result });
  });

  r.post('/conversations/:id/unread', async (req, res) => {
    // The request needs no body; one sent anyway is ignored, as before the intake existed.
    const result = await intake.run(caller(res), intake.fromRest('MARK_UNREAD', { conv_id: req.params.id }, {}));
    res.json({ conv_id: req.params.id, ...result });
  });

  r.post('/conversations/:id/read', async (req, res) => {
    res.json(await intake.run(caller(res), intake.fromRest('READ', { conv_id: req.params.id }, req.body)));
  });

  return r;
}
