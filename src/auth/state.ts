/**
 * Whether a token still counts, given its user's auth state (store: AuthState). Pure: the
 * REST guard, CONNECT and every frame of an open session ask the same question.
 */
import type { AuthState } from '../store';

/**
 * True when a token of generation `gen`, issued to `tokenDevice` and used as `deviceId`
 * (CONNECT's device id; null on REST), still counts: the account exists and is not
 * deleted, the user has not signed out everywhere since (valid_from_gen), and neither
 * device was signed out since (revoked_devices). A token is checked against the device it
 * names and the one it is used as, so a signed-out device cannot come back with a token
 * another device was given before the sign-out.
 */
export function tokenCounts(state: AuthState | null, gen: number, tokenDevice: string | null, deviceId: string | null): boolean {
  if (state === null || state.deleted || gen < state.valid_from_gen) return false;
  if (tokenDevice !== null && revokedFor(state, tokenDevice, gen)) return false;
  return deviceId === null || deviceId === tokenDevice || !revokedFor(state, deviceId, gen);
}

function revokedFor(state: AuthState, device: string, gen: number): boolean {
  const at = state.revoked_devices[device];
  return at !== undefined && gen <= at;
}

/** Why a token no longer counts, as the ERROR or 401 message says it. */
export function refusal(state: AuthState | null): string {
  if (state === null) return 'unknown user';
  if (state.deleted) return 'account deleted';
  return 'signed out';
}

/**
 * The newer of two states of one user. Every revocation raises token_gen and deletion is
 * final, so the higher generation (or the deleted one) is the later state, whatever order
 * a store read and a bus message arrived in.
 */
export function newerState(a: AuthState, b: AuthState): AuthState {
  if (a.deleted) return a;
  if (b.deleted) return b;
  return b.token_gen >= a.token_gen ? b : a;
}
