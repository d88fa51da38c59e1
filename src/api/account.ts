/**
 * REST: signing out and deleting the account (docs/protocol.md, "Accounts and devices").
 * Each change is written to the store first (the truth every shard reads), then applied to
 * this shard's auth cache and announced on the bus, so every shard's cache learns it and
 * closes the user's sessions whose token no longer counts, at once.
 */
import { Router as ExpressRouter } from 'express';
import { ProtocolError } from '../protocol';
import { verifyPassword } from '../auth';
import { usersTopic } from '../bus';
import { deletedUserSettings, type AuthState } from '../store';
import { claimsOf, requireAuth, userOf, validator } from './http';
import type { ApiOptions } from './index';

export function accountRoutes(opts: ApiOptions): ExpressRouter {
  const { store, auth, bus, router, limits, loginThrottle } = opts;
  const deviceSchema = { type: 'string', minLength: 1, maxLength: limits.maxIdChars };
  const parseLogout = validator<{ device_id?: string }>({
    type: 'object',
    properties: { device_id: deviceSchema },
    additionalProperties: false,
  });
  const parseDelete = validator<{ password: string }>({
    type: 'object',
    properties: { password: { type: 'string', maxLength: 256 } },
    required: ['password'],
    additionalProperties: false,
  });
  const deviceParam = (id: string): string => {
    if (id.length < 1 || id.length > limits.maxIdChars) throw new ProtocolError('bad_request', `device id must be 1 to ${limits.maxIdChars} characters`);
    return id;
  };

  /** This shard knows at once (the next request here must not pass); the others by the bus. */
  const announce = (state: AuthState): void => {
    auth.cache.apply(state);
    bus.publish(usersTopic, { t: 'auth', state });
  };

  /** Signs one device out: its tokens, its sessions (by the announcement) and its push registration. */
  const signOutDevice = async (userId: string, deviceId: string): Promise<void> => {
    // A device entry needs to outlive only the tokens it refuses.
    const state = await store.revokeDevice(userId, deviceId, auth.tokens.ttl * 1000);
    if (state === null) throw new ProtocolError('unauthorized', 'unknown user');
    announce(state);
    await store.deletePushRegistration(userId, deviceId);
  };

  const r = ExpressRouter();
  const guard = requireAuth(auth);

  /** Sign out this device (the one the token names), or the device named in the body. */
  r.post('/auth/logout', guard, async (req, res) => {
    const body = parseLogout(req.body ?? {});
    const deviceId = body.device_id ?? claimsOf(res).device_id;
    if (deviceId === null) throw new ProtocolError('bad_request', 'this token names no device: give device_id');
    await signOutDevice(userOf(res), deviceId);
    res.status(204).end();
  });

  /** Sign out everywhere: every token issued so far, every session, every push registration. */
  r.post('/auth/logout-all', guard, async (_req, res) => {
    const userId = userOf(res);
    const state = await store.revokeTokens(userId);
    if (state === null) throw new ProtocolError('unauthorized', 'unknown user');
    announce(state);
    // Signed-out devices must not keep showing the user's messages on their lock screens.
    const regs = await store.getPushRegistrations([userId]);
    await Promise.all(regs.map((g) => store.deletePushRegistration(userId, g.device_id)));
    res.status(204).end();
  });

  /** Removes one of the caller's devices (from another one): as signing that device out. */
  r.delete('/me/devices/:device_id', guard, async (req, res) => {
    await signOutDevice(userOf(res), deviceParam(String(req.params.device_id)));
    res.status(204).end();
  });

  /**
   * Deletes the account, asking for the password again (a stolen token alone must not be
   * enough). The user leaves every group first (a member_removed event each, as leaving),
   * so a deletion cut short by a crash can be asked again with the same token; then the
   * push registrations go, and the store makes the account a tombstone (messages stay,
   * signed "Deleted user"; the username reserved for DELETED_USERNAME_RESERVE_DAYS).
   */
  r.delete('/me', guard, async (req, res) => {
    const userId = userOf(res);
    const body = parseDelete(req.body ?? {});
    const user = await store.getUser(userId);
    if (user === null || user.deleted_at !== null) throw new ProtocolError('unauthorized', 'unknown user');
    // Throttled like a login: a stolen token must not become a way to guess the password.
    const wait = await loginThrottle.attempt(user.username);
    if (wait > 0) throw new ProtocolError('rate_limited', 'too many attempts for this account; try again later', wait);
    if (!(await verifyPassword(body.password, user.password_hash))) throw new ProtocolError('forbidden', 'wrong password');
    await loginThrottle.succeeded(user.username);
    await leaveGroups(userId);
    const regs = await store.getPushRegistrations([userId]);
    await Promise.all(regs.map((g) => store.deletePushRegistration(userId, g.device_id)));
    const state = await store.deleteUser(userId, Date.now() + opts.usernameReserveMs);
    if (state === null) throw new ProtocolError('unauthorized', 'unknown user');
    // The settings first: the sessions' cached copies then hide presence, so their closing
    // announces "offline" with no last seen, and subscribers learn it at once.
    bus.publish(usersTopic, { t: 'settings', user_id: userId, settings: { ...deletedUserSettings }, presence_changed: true });
    announce(state);
    res.status(204).end();
  });

  /** Leaves each group the user is in, through its owner like any leave; direct conversations keep both members. */
  async function leaveGroups(userId: string): Promise<void> {
    let cursor: string | null = null;
    const groups: string[] = [];
    do {
      const page = await store.listInbox(userId, cursor, 200);
      for (const row of page.rows) if (row.type === 'group') groups.push(row.conv_id);
      cursor = page.next_cursor;
    } while (cursor !== null);
    for (const convId of groups) {
      try {
        await router.dispatch({ op: 'remove_member', conv_id: convId, user_id: userId, target_id: userId });
      } catch (err) {
        // Left meanwhile (another device, an admin): nothing to do.
        if (!(err instanceof ProtocolError && err.code === 'not_found')) throw err;
      }
    }
  }

  return r;
}
