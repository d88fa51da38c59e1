/** The sign-in screen's words after the server ended a session: never a bare protocol code. */
import { signedOutMessage } from '../../src/web/events';

test.each([
  ['signed out', 'You were signed out of this device. Sign in again.'],
  ['token revoked for this device', 'You were signed out of this device. Sign in again.'],
  ['account deleted', 'This account was deleted.'],
  ['unauthorized', 'Your session ended. Sign in again.'],
  ['', 'Your session ended. Sign in again.'],
])('%j -> %s', (reason, shown) => {
  expect(signedOutMessage(reason)).toBe(shown);
});
