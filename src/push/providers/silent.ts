/**
 * Which targets may be sent a silent push (a retraction: no notification shown, the one
 * shown before closed). FCM apps handle data messages as they like (Android) and take
 * background pushes (APNs content-available). Browsers must show a notification for every
 * push (`userVisibleOnly`): Chrome, Edge and Firefox allow a site some pushes without one
 * and close nothing on their own; Chrome shows "This site has been updated in the
 * background" once a site's allowance is spent. Safari's push service (web.push.apple.com)
 * may revoke a subscription whose pushes show nothing, which would cost the user every
 * later notification: those subscriptions get no retractions (the web client closes a
 * conversation's notifications itself when it is read in that browser).
 */
import type { PushTarget } from './types';

const APPLE_WEB_PUSH = /(^|\.)push\.apple\.com$/i;

export function takesSilentPush(target: PushTarget): boolean {
  if (target.provider !== 'webpush') return true;
  try {
    return !APPLE_WEB_PUSH.test(new URL(target.endpoint).hostname);
  } catch {
    return false;
  }
}
