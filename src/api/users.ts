/** REST: registration, login, user lookup, own settings, presence pull. */
import { Router as ExpressRouter } from 'express';
import { ProtocolError, newId } from '../protocol';
import { checkSearchQuery, type UserSearchCursor } from '../store';
import { hashPassword, verifyPassword } from '../auth';
import { usersTopic } from '../bus';
import { visiblePresence } from '../presence';
import type { UserRecord, UserSettings } from '../store';
import { intParam, requireAuth, userOf, validator } from './http';
import type { ApiOptions } from './index';
import { CursorSeal } from './cursor-seal';

interface Credentials {
  username: string;
  password: string;
  display_name?: string;
  /** The device signing in: its tokens name it, so it can be signed out alone. */
  device_id?: string;
}

const displayNameSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: '\\S' };
const parseProfile = validator<{ display_name: string }>({
  type: 'object',
  properties: { display_name: displayNameSchema },
  required: ['display_name'],
  additionalProperties: false,
});
const usernameSchema = { type: 'string', minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_.-]+$' };
const parseSettings = validator<Partial<UserSettings>>({
  type: 'object',
  properties: {
    show_presence: { type: 'boolean' },
    show_last_seen: { type: 'boolean' },
    send_read_receipts: { type: 'boolean' },
    push_previews: { type: 'boolean' },
    discoverable: { type: 'boolean' },
  },
  additionalProperties: false,
});

/** The public view of a user: never the password hash. */
export interface PublicUser {
  user_id: string;
  username: string;
  display_name: string;
  /** Set (true) for a deleted account, shown as "Deleted user" with no username. */
  deleted?: true;
}

export function publicUser(u: UserRecord): PublicUser {
  const view: PublicUser = { user_id: u.user_id, username: u.username, display_name: u.display_name };
  if (u.deleted_at !== null) view.deleted = true;
  return view;
}

/** The opaque cursor of a search page: the store's cursor, sealed (see CursorSeal). */
function parseSearchCursor(seal: CursorSeal, raw: unknown): UserSearchCursor | null {
  if (raw === undefined || raw === '') return null;
  if (typeof raw === 'string' && raw.length <= 1024) {
    const v = seal.open(raw);
    if (typeof v === 'object' && v !== null && typeof (v as UserSearchCursor).term === 'string' && typeof (v as UserSearchCursor).user_id === 'string') {
      return { term: (v as UserSearchCursor).term, user_id: (v as UserSearchCursor).user_id };
    }
  }
  throw new ProtocolError('bad_request', 'cursor is not one this endpoint gave');
}

// A fixed hash to verify against when the user does not exist, so login takes the same
// time whether or not the username is known.
let dummyHash: Promise<string> | null = null;

export function userRoutes(opts: ApiOptions): ExpressRouter {
  const { store, tokens, registerLimiter, loginLimiter, loginThrottle, presence, bus, searchLimiter } = opts;
  const searchCursors = new CursorSeal(opts.cursorSecret, 'user-search');
  const deviceSchema = { type: 'string', minLength: 1, maxLength: opts.limits.maxIdChars };
  const parseRegister = validator<Credentials>({
    type: 'object',
    properties: {
      username: usernameSchema,
      password: { type: 'string', minLength: 8, maxLength: 256 },
      display_name: { type: 'string', minLength: 1, maxLength: 64 },
      device_id: deviceSchema,
    },
    required: ['username', 'password'],
    additionalProperties: false,
  });
  const parseLogin = validator<Credentials>({
    type: 'object',
    properties: { username: { type: 'string', maxLength: 64 }, password: { type: 'string', maxLength: 256 }, device_id: deviceSchema },
    required: ['username', 'password'],
    additionalProperties: false,
  });
  const r = ExpressRouter();
  const auth = requireAuth(opts.auth);

  r.post('/auth/register', async (req, res) => {
    const address = `ip:${req.ip}`;
    if (!registerLimiter.take(address)) throw new ProtocolError('rate_limited', 'too many registrations from this address', registerLimiter.retryAfterMs(address));
    const body = parseRegister(req.body);
    const user = await store.createUser({
      user_id: newId('u'),
      username: body.username.toLowerCase(),
      display_name: body.display_name ?? body.username,
      password_hash: await hashPassword(body.password),
      created_at: Date.now(),
    });
    // A new account's generation is 0. A device not named gets an id of its own, so the
    // token can still be signed out alone (the answer tells the client which).
    const deviceId = body.device_id ?? newId('d');
    res.status(201).json({ user_id: user.user_id, username: user.username, device_id: deviceId, token: tokens.issue(user.user_id, { deviceId, gen: 0 }) });
  });

  r.post('/auth/login', async (req, res) => {
    const address = `ip:${req.ip}`;
    if (!loginLimiter.take(address)) throw new ProtocolError('rate_limited', 'too many attempts from this address', loginLimiter.retryAfterMs(address));
    const body = parseLogin(req.body);
    const account = body.username.toLowerCase();
    // Before the password is checked, and for unknown names alike (a refusal must not tell
    // which names exist). A refused attempt is not counted: it tested nothing.
    const wait = await loginThrottle.attempt(account);
    if (wait > 0) throw new ProtocolError('rate_limited', 'too many attempts for this account; try again later', wait);
    const user = await store.getUserByUsername(account);
    dummyHash ??= hashPassword('not a real password');
    const ok = await verifyPassword(body.password, user?.password_hash ?? (await dummyHash));
    if (!user || !ok) throw new ProtocolError('unauthorized', 'wrong username or password');
    await loginThrottle.succeeded(account);
    // The generation from the store, not the cache: a sign-out another shard announced on a
    // lost message would otherwise give a token refused at once.
    const [state] = await store.getAuthStates([user.user_id]);
    if (state === undefined || state.deleted) throw new ProtocolError('unauthorized', 'wrong username or password');
    opts.auth.cache.apply(state);
    const deviceId = body.device_id ?? newId('d');
    res.json({ user_id: user.user_id, device_id: deviceId, token: tokens.issue(user.user_id, { deviceId, gen: state.token_gen }) });
  });

  r.get('/users', auth, async (req, res) => {
    // `user_ids=a,b`: the names of users a client met by id (senders, members, peers).
    const rawIds = req.query.user_ids;
    if (typeof rawIds === 'string' && rawIds !== '') {
      const ids = [...new Set(rawIds.split(','))];
      if (ids.length > opts.limits.maxPresenceSub) throw new ProtocolError('bad_request', `at most ${opts.limits.maxPresenceSub} user_ids`);
      res.json({ users: (await store.getUsers(ids)).map(publicUser) });
      return;
    }
    const username = req.query.username;
    if (typeof username !== 'string' || username === '') throw new ProtocolError('bad_request', 'username is required');
    const user = await store.getUserByUsername(username.toLowerCase());
    res.json({ users: user ? [publicUser(user)] : [] });
  });

  /** Finding people by name as one types: see docs/protocol.md, "Finding people". */
  r.get('/users/search', auth, async (req, res) => {
    const me = userOf(res);
    if (!searchLimiter.take(me)) throw new ProtocolError('rate_limited', 'too many searches', searchLimiter.retryAfterMs(me));
    const q = req.query.q;
    if (typeof q !== 'string') throw new ProtocolError('bad_request', 'q is required');
    const query = checkSearchQuery(q);
    const limit = intParam(req.query.limit, 'limit', 20, 1, 50);
    const cursor = parseSearchCursor(searchCursors, req.query.cursor);
    const page = await store.searchUsers(query, cursor, limit);
    res.json({
      // The caller is never a person to find; the page may be one short for it.
      users: page.users.filter((u) => u.user_id !== me).map(publicUser),
      next_cursor: page.next_cursor === null ? null : searchCursors.seal(page.next_cursor),
    });
  });

  r.patch('/me', auth, async (req, res) => {
    const body = parseProfile(req.body);
    const me = userOf(res);
    if (!opts.renameLimiter.take(me)) throw new ProtocolError('rate_limited', 'too many name changes', opts.renameLimiter.retryAfterMs(me));
    const user = await store.updateDisplayName(me, body.display_name.trim());
    if (!user) throw new ProtocolError('unauthorized', 'unknown user');
    res.json(publicUser(user));
  });

  r.get('/me', auth, async (_req, res) => {
    const user = await store.getUser(userOf(res));
    if (!user) throw new ProtocolError('unauthorized', 'unknown user');
    res.json({ ...publicUser(user), settings: user.settings });
  });

  r.patch('/me/settings', auth, async (req, res) => {
    const patch = parseSettings(req.body);
    const user = await store.updateUserSettings(userOf(res), patch);
    if (!user) throw new ProtocolError('unauthorized', 'unknown user');
    // Every gateway refreshes its sessions' copy, and tells the user's presence subscribers
    // at once when what they may see changed (hiding presence while online, showing it again).
    const presenceChanged = patch.show_presence !== undefined || patch.show_last_seen !== undefined;
    bus.publish(usersTopic, { t: 'settings', user_id: user.user_id, settings: user.settings, presence_changed: presenceChanged });
    res.json({ settings: user.settings });
  });

  r.get('/presence', auth, async (req, res) => {
    const raw = req.query.user_ids;
    if (typeof raw !== 'string' || raw === '') throw new ProtocolError('bad_request', 'user_ids is required');
    const ids = [...new Set(raw.split(','))];
    if (ids.length > opts.limits.maxPresenceSub) throw new ProtocolError('bad_request', `at most ${opts.limits.maxPresenceSub} user_ids`);
    const [infos, users] = await Promise.all([presence.get(ids), store.getUsers(ids)]);
    const settings = new Map(users.map((u) => [u.user_id, u.settings]));
    const now = Date.now();
    res.json({
      presence: infos
        .filter((i) => settings.has(i.user_id))
        .map((i) => visiblePresence(i.user_id, i.online, i.last_seen, settings.get(i.user_id) as UserSettings, now)),
    });
  });

  return r;
}
