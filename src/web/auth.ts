/** Signing in and up: the one REST exchange before there is a session (and so a store). */
import { RestClient } from '../client';
import { deviceId, type Session } from './storage';

/** Signs in or up over REST; returns the session to keep. */
export async function authenticate(mode: 'signin' | 'signup', username: string, password: string, displayName: string): Promise<Session> {
  const rest = new RestClient({ baseUrl: location.origin });
  // The token names this browser's device, so signing it out elsewhere ends only this one.
  const device_id = deviceId();
  const auth =
    mode === 'signup'
      ? await rest.register({ username, password, device_id, ...(displayName.trim() ? { display_name: displayName.trim() } : {}) })
      : await rest.login({ username, password, device_id });
  rest.setToken(auth.token);
  const me = await rest.me();
  return { token: auth.token, user_id: auth.user_id, username: me.username, display_name: me.display_name ?? me.username };
}
