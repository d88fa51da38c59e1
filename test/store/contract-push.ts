/**
 * Store contract, part 6: push registrations (one per device, replaced in place, removed
 * unconditionally or only while the target is the one a provider refused), push dead
 * letters (newest first, trimmed per user) and the push_previews setting.
 */
import { newId } from '../../src/protocol';
import { defaultUserSettings, type PushDeadLetter, type PushRegistration, type PushTarget, type Store } from '../../src/store';
import { newUser, t0, type ContractContext } from './contract-fixtures';

function webpush(endpoint = `https://push.example/${newId('ep')}`, auth = 'auth-1'): PushTarget {
  return { provider: 'webpush', endpoint, keys: { p256dh: 'BPk-p256dh', auth } };
}

function fcm(token = newId('tok')): PushTarget {
  return { provider: 'fcm', token };
}

function registration(userId: string, target: PushTarget, deviceId = newId('d'), at = t0): PushRegistration {
  return { user_id: userId, device_id: deviceId, platform: 'android', app_id: 'com.example.chat', target, created_at: at, updated_at: at };
}

function letter(userId: string, failedAt: number, fields: Partial<PushDeadLetter> = {}): PushDeadLetter {
  return {
    letter_id: newId('dl'),
    user_id: userId,
    device_id: 'd1',
    provider: 'fcm',
    failed_at: failedAt,
    reason: 'registration-token-not-registered',
    attempts: 3,
    payload: JSON.stringify({ title: 'Bob', body: 'hi' }),
    ...fields,
  };
}

const byDevice = (a: PushRegistration, b: PushRegistration) => (a.device_id < b.device_id ? -1 : a.device_id > b.device_id ? 1 : 0);

export function pushContract(ctx: ContractContext): void {
  let store: Store;
  beforeEach(() => {
    store = ctx.store();
  });

  describe('push registrations', () => {
    it('put creates a registration; put again replaces the target and keeps created_at', async () => {
      const user = newId('u');
      const first = registration(user, webpush());
      await store.putPushRegistration(first);
      expect(await store.getPushRegistrations([user])).toEqual([first]);

      // The device came back as another app build on another platform: both are replaced too.
      const replaced = { ...first, platform: 'ios' as const, app_id: 'com.example.chat.ios', target: fcm(), created_at: t0 + 5000, updated_at: t0 + 5000 };
      await store.putPushRegistration(replaced);
      expect(await store.getPushRegistrations([user])).toEqual([{ ...replaced, created_at: t0 }]);
    });

    it('get returns every registration of the given users, and only theirs', async () => {
      const [a, b, c] = [newId('u'), newId('u'), newId('u')];
      const regs = [registration(a, webpush()), registration(a, fcm()), registration(b, fcm()), registration(c, fcm())];
      for (const r of regs) await store.putPushRegistration(r);
      const found = await store.getPushRegistrations([a, b, newId('u')]);
      expect(found.sort(byDevice)).toEqual(regs.slice(0, 3).sort(byDevice));
      expect(await store.getPushRegistrations([])).toEqual([]);
      expect(await store.getPushRegistrations([newId('u')])).toEqual([]);
    });

    it('delete removes one device and says whether there was one', async () => {
      const user = newId('u');
      const keep = registration(user, fcm());
      const gone = registration(user, webpush());
      await store.putPushRegistration(keep);
      await store.putPushRegistration(gone);
      expect(await store.deletePushRegistration(user, gone.device_id)).toBe(true);
      expect(await store.deletePushRegistration(user, gone.device_id)).toBe(false);
      expect(await store.deletePushRegistration(newId('u'), keep.device_id)).toBe(false);
      expect(await store.getPushRegistrations([user])).toEqual([keep]);
    });

    it('deleteIfTarget removes a Web Push registration only for the same endpoint and keys', async () => {
      const user = newId('u');
      const target = webpush();
      const reg = registration(user, target);
      await store.putPushRegistration(reg);
      if (target.provider !== 'webpush') throw new Error('unreachable');
      const otherEndpoint = webpush(`${target.endpoint}-2`);
      const otherKeys = webpush(target.endpoint, 'auth-2');
      expect(await store.deletePushRegistrationIfTarget(user, reg.device_id, otherEndpoint)).toBe(false);
      expect(await store.deletePushRegistrationIfTarget(user, reg.device_id, otherKeys)).toBe(false);
      expect(await store.deletePushRegistrationIfTarget(user, reg.device_id, fcm(target.endpoint))).toBe(false);
      expect(await store.getPushRegistrations([user])).toEqual([reg]);
      // The same subscription as a client sends it: keys in another order, extra fields.
      const same = { expirationTime: null, keys: { auth: target.keys.auth, p256dh: target.keys.p256dh }, endpoint: target.endpoint, provider: 'webpush' };
      expect(await store.deletePushRegistrationIfTarget(user, reg.device_id, same as unknown as PushTarget)).toBe(true);
      expect(await store.getPushRegistrations([user])).toEqual([]);
      expect(await store.deletePushRegistrationIfTarget(user, reg.device_id, target)).toBe(false);
    });

    it('deleteIfTarget removes an FCM registration only for the same token, not after the device re-registered', async () => {
      const user = newId('u');
      const old = registration(user, fcm('token-old'));
      await store.putPushRegistration(old);
      // The device registered a new token before the provider's answer about the old one came.
      const renewed = { ...old, target: fcm('token-new'), updated_at: t0 + 1000 };
      await store.putPushRegistration(renewed);
      expect(await store.deletePushRegistrationIfTarget(user, old.device_id, fcm('token-old'))).toBe(false);
      expect(await store.getPushRegistrations([user])).toEqual([renewed]);
      expect(await store.deletePushRegistrationIfTarget(user, old.device_id, fcm('token-new'))).toBe(true);
      expect(await store.getPushRegistrations([user])).toEqual([]);
      expect(await store.deletePushRegistrationIfTarget(newId('u'), old.device_id, fcm('token-new'))).toBe(false);
    });
  });

  describe('push dead letters', () => {
    it('lists a user\'s letters newest first, at most `limit`', async () => {
      const user = newId('u');
      const letters = [letter(user, t0 + 2000), letter(user, t0 + 1000, { provider: 'webpush', device_id: 'd2' }), letter(user, t0 + 3000)];
      for (const l of letters) await store.addPushDeadLetter(l, 10);
      await store.addPushDeadLetter(letter(newId('u'), t0 + 4000), 10);
      expect(await store.listPushDeadLetters(user, 10)).toEqual([letters[2], letters[0], letters[1]]);
      expect(await store.listPushDeadLetters(user, 2)).toEqual([letters[2], letters[0]]);
      expect(await store.listPushDeadLetters(user, 0)).toEqual([]);
      expect(await store.listPushDeadLetters(newId('u'), 10)).toEqual([]);
    });

    it('keeps only the newest `keep` letters of the user, ties in time included', async () => {
      const user = newId('u');
      const other = newId('u');
      const others = [letter(other, t0), letter(other, t0 + 1)];
      for (const l of others) await store.addPushDeadLetter(l, 10);
      const added: PushDeadLetter[] = [];
      for (let i = 0; i < 6; i++) {
        // Two letters per millisecond: trimming must not keep or drop a whole millisecond.
        const l = letter(user, t0 + Math.floor(i / 2), { letter_id: `dl_${i}` });
        added.push(l);
        await store.addPushDeadLetter(l, 3);
      }
      expect(await store.listPushDeadLetters(user, 10)).toEqual([added[5], added[4], added[3]]);
      // An older letter than every kept one is trimmed at once.
      await store.addPushDeadLetter(letter(user, t0 - 1000), 3);
      expect(await store.listPushDeadLetters(user, 10)).toEqual([added[5], added[4], added[3]]);
      // Other users keep theirs.
      expect(await store.listPushDeadLetters(other, 10)).toEqual([others[1], others[0]]);
    });

    it('writing the same letter twice keeps one', async () => {
      const user = newId('u');
      const l = letter(user, t0);
      await store.addPushDeadLetter(l, 10);
      await store.addPushDeadLetter(l, 10);
      expect(await store.listPushDeadLetters(user, 10)).toEqual([l]);
    });
  });

  describe('push_previews setting', () => {
    it('is true for a new user and changes alone', async () => {
      const u = await store.createUser(newUser());
      expect(u.settings.push_previews).toBe(true);
      expect(defaultUserSettings.push_previews).toBe(true);
      const updated = await store.updateUserSettings(u.user_id, { push_previews: false });
      expect(updated?.settings).toEqual({ ...defaultUserSettings, push_previews: false });
      expect((await store.getUser(u.user_id))?.settings.push_previews).toBe(false);
      await store.updateUserSettings(u.user_id, { show_presence: false });
      expect((await store.getUser(u.user_id))?.settings).toEqual({ ...defaultUserSettings, show_presence: false, push_previews: false });
      expect((await store.getUsers([u.user_id]))[0].settings.push_previews).toBe(false);
    });
  });
}
