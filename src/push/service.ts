/**
 * Push notifications for devices without a live session.
 *
 * On the conversation's owner (the only shard sequencing it): the first notifying event (a
 * message, or a reaction to your message) opens a 200 ms window for the conversation and
 * queues one delayed `push-batch` job for it at once, so the window survives the owner
 * dying; the events after it cost a map lookup. Any shard runs the job: it reads the
 * window's events from the store (nothing is held in memory), makes each member's burst
 * (their notifying events), drops members who left, muted the conversation (unless
 * mentioned) or have read past their burst meanwhile, finds their registered devices
 * without a live session (presence knows devices), builds one notification per member,
 * and queues one `push-device` job per device, so a device's retries never resend to another. A READ that moves a
 * recipient's marker after they were pushed about the conversation queues a silent
 * retraction to their devices without a live session. Every job id is derived from what
 * it carries, so a job that runs twice (a shard died mid-run) sends nothing twice.
 */
import { messagePreview, type ConvEvent } from '../protocol';
import type { PushRegistration, PushTarget, Store } from '../store';
import type { Presence } from '../presence';
import type { Jobs } from '../jobs';
import type { Logger } from '../observability';
import { buildNotification, type Burst, type Notification } from './notification';
import { takesSilentPush, type SendResult } from './providers';
import { PushReach } from './reach';
export type { SendResult } from './providers';

/** Sends to one kind of target (Web Push, FCM). */
export interface PushSender {
  send(target: PushTarget, notification: Notification): Promise<SendResult>;
}

export interface PushCounters {
  /** Provider answers, by provider kind and result. */
  sent(kind: PushTarget['provider'], result: SendResult['status'] | 'dead_letter'): void;
  /** A window was opened (a job queued to look at a burst). */
  window?(): void;
}

export interface PushServiceOptions {
  store: Store;
  presence: Presence;
  jobs: Pick<Jobs, 'register' | 'add'>;
  /** Senders by target kind; a kind without one is skipped (its registrations stay). */
  senders: Partial<Record<PushTarget['provider'], PushSender>>;
  logger: Logger;
  counters: PushCounters;
  /** Window collapsing a burst into one notification (ms). */
  batchMs?: number;
  /** Provider attempts before a dead letter. */
  attempts?: number;
  /** Dead letters kept per user. */
  deadLetters?: number;
  /** How long "this user has no device" is trusted before a window's job reads it again (ms). */
  reachTtlMs?: number;
}

const batchQueue = 'push-batch';
const deviceQueue = 'push-device';
const retractQueue = 'push-retract';
/** How long a conversation's newest window can still be retracted by a read. */
const pushedTtlMs = 24 * 3600_000;
/**
 * The longest Retry-After honoured: a push service that wants longer is not going to take
 * this notification while it still matters (a "new message" an hour late is noise).
 */
const maxRetryAfterMs = 3600_000;
/** Members whose notifications a window's job builds between two turns of the event loop. */
const membersPerTurn = 8;
/** The largest badge counted (the store stops counting there). */
const maxBadge = 1000;

interface DeviceJob {
  /** The job's own id (dead letters are keyed by it). */
  job_id: string;
  user_id: string;
  device_id: string;
  target: PushTarget;
  notification: Notification;
  /** Attempts made by earlier jobs of this push (a Retry-After answer continues in a job of its own). */
  attempts_before?: number;
}

/** A conversation's window, as the delayed job carries it. */
interface WindowJob {
  conv_id: string;
  conv_type: 'direct' | 'group';
  conv_title: string | null;
  /** The event that opened the window, and the end of the window (its ts + the window). */
  first_seq: number;
  until_ts: number;
}

/** A read that may retract the window `first_seq`..`until_ts` of the conversation. */
interface RetractJob extends WindowJob {
  user_id: string;
  /** The seq read up to. */
  seq: number;
}

export class PushService {
  /** conv -> when its open window ends (owner side). */
  private readonly windows = new Map<string, number>();
  /** conv -> the newest window: its first seq and when it opened, and who was asked to retract it (owner side). */
  private readonly recent = new Map<string, { job: WindowJob; at: number; retracted: Set<string> }>();
  private stopped = false;
  /** Provider attempts per push, across the jobs of one push. */
  private readonly attempts: number;
  /** Users known to have no device: their messages open no window (./reach.ts). */
  private readonly reach: PushReach;

  constructor(private readonly opts: PushServiceOptions) {
    this.attempts = opts.attempts ?? 5;
    this.reach = new PushReach({ ttlMs: opts.reachTtlMs ?? 60_000, maxEntries: 200_000 });
    opts.jobs.register<WindowJob>(batchQueue, (job) => this.deliverWindow(job), { concurrency: 4 });
    opts.jobs.register<DeviceJob>(deviceQueue, (job, run) => this.sendToDevice(job, (job.attempts_before ?? 0) + run.attempt), { concurrency: 16 });
    opts.jobs.register<RetractJob>(retractQueue, (job) => this.retract(job), { concurrency: 4 });
  }

  /**
   * A notifying event was stored (on the owner); `recipients` is empty when it notifies no
   * one. One job per conversation window, whatever the group's size: the job decides per
   * member, so a message costs a map lookup here.
   */
  notify(event: ConvEvent, recipients: readonly string[], conv: { type: 'direct' | 'group'; title: string | null }): void {
    if (this.stopped || recipients.length === 0) return;
    const batchMs = this.opts.batchMs ?? 200;
    const now = Date.now();
    if ((this.windows.get(event.conv_id) ?? 0) > now) return; // the open window's job will read this event
    // Only when a window would open: a group's recipients are looked up once per window, not per message.
    if (this.reach.noneOf(recipients)) return; // nobody here has a device to push to
    this.windows.set(event.conv_id, now + batchMs);
    this.opts.counters.window?.();
    const job: WindowJob = { conv_id: event.conv_id, conv_type: conv.type, conv_title: conv.title, first_seq: event.seq, until_ts: event.ts + batchMs };
    this.recent.set(event.conv_id, { job, at: now, retracted: new Set() });
    if (this.windows.size > 10_000 || this.recent.size > 100_000) this.forget(now);
    this.enqueue(batchQueue, job, `b-${event.conv_id}-${event.seq}`, batchMs);
  }

  /**
   * A member read the conversation up to `seq`: if that covers the newest pushed window,
   * retract what their devices without a live session were shown (once per window).
   */
  read(userId: string, convId: string, seq: number): void {
    const w = this.recent.get(convId);
    if (w === undefined || this.stopped || seq < w.job.first_seq || w.retracted.has(userId) || Date.now() - w.at > pushedTtlMs) return;
    w.retracted.add(userId);
    const job: RetractJob = { ...w.job, user_id: userId, seq };
    this.enqueue(retractQueue, job, `r-${userId}-${convId}-${w.job.first_seq}`);
  }

  /**
   * The user registered a device (here, or on another shard: the bus says so): their next
   * messages open windows again.
   */
  registered(userId: string): void {
    this.reach.registered(userId);
  }

  /** Forgets who has no device (after a bus outage: registrations elsewhere may be unheard). */
  forgetReach(): void {
    this.reach.clear();
  }

  /** Users currently known to have no device (for tests and metrics). */
  get knownUnreachable(): number {
    return this.reach.size;
  }

  /** Takes no more events (every open window's job is already queued). */
  async stop(): Promise<void> {
    this.stopped = true;
  }

  // ------------------------------------------------------------------ internals

  private enqueue(queue: string, data: unknown, jobId: string, delayMs = 0): void {
    this.opts.jobs.add(queue, data, { jobId, delayMs }).catch((err: unknown) => this.opts.logger.error('push job not queued', { queue, job_id: jobId, err }));
  }

  private forget(now: number): void {
    for (const [conv, until] of this.windows) if (until <= now) this.windows.delete(conv);
    for (const [conv, w] of this.recent) if (now - w.at > pushedTtlMs) this.recent.delete(conv);
  }

  /**
   * The window's job: each member's burst from the log, the members still to be told (not
   * left, not muted unless mentioned, not read past it), their devices without a live
   * session, and one job per device (idempotent: per-device job ids).
   */
  private async deliverWindow(job: WindowJob): Promise<void> {
    const { store } = this.opts;
    const readAt = Date.now();
    const members = await store.getMembers(job.conv_id);
    // Devices first: most windows are of conversations whose members are all online (or
    // never registered a device), and then the log is not worth reading.
    const devices = await this.offlineDevices(members.map((m) => m.user_id), readAt);
    if (devices.size === 0) return;
    const events = await this.windowEvents(job);
    if (events.length === 0) return;
    const authors = await this.reactedAuthors(events);
    const now = Date.now();
    const told: Burst[] = [];
    for (const m of members) {
      if (!devices.has(m.user_id)) continue;
      const b = burstOf(events, m.user_id, job, authors);
      if (b === null || m.last_read_seq >= b.last_seq) continue; // nothing for them, or read it meanwhile
      const muted = m.muted_until === -1 || (m.muted_until !== null && m.muted_until > now);
      if (!muted || b.mentioned) told.push(b);
    }
    if (told.length === 0) return;
    const users = new Map((await store.getUsers([...new Set(told.flatMap((b) => [b.user_id, b.sender_id]))])).map((u) => [u.user_id, u]));
    // Awaited: the window's job ends only once every device's job is queued (a rerun re-adds by id).
    // A few members at a time, yielding between: on the embedded store each badge is a
    // synchronous query, and a 250-member group at once would hold the event loop (and every
    // message behind it) for tens of milliseconds.
    for (let i = 0; i < told.length; i += membersPerTurn) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      await Promise.all(
        told.slice(i, i + membersPerTurn).map(async (b) => {
          const sender = users.get(b.sender_id);
          const notification = buildNotification(b, {
            previews: users.get(b.user_id)?.settings.push_previews ?? true,
            senderName: sender?.display_name ?? sender?.username ?? 'Someone',
            badge: await this.badge(b.user_id),
          });
          const regs = devices.get(b.user_id) ?? [];
          await Promise.all(regs.map((reg) => this.toDevice(reg, notification, `d-${b.user_id}-${b.conv_id}-${b.last_seq}-${reg.device_id}`)));
        }),
      );
    }
  }

  /** Whose message each reaction of the window is on: read once per window, not once per member. */
  private async reactedAuthors(events: readonly ConvEvent[]): Promise<Map<number, string>> {
    const authors = new Map<number, string>();
    for (const e of events) {
      if (e.kind !== 'reaction' || e.target_seq === undefined || authors.has(e.target_seq)) continue;
      authors.set(e.target_seq, (await this.opts.store.readMessage(e.conv_id, e.target_seq))?.sender_id ?? '');
    }
    return authors;
  }

  /** The window's events still standing (messages unsent by now, and reactions to them, left out). */
  private async windowEvents(job: WindowJob): Promise<ConvEvent[]> {
    const log = await this.opts.store.readEvents(job.conv_id, job.first_seq - 1, 500);
    const unsent = new Set(log.filter((e) => e.kind === 'delete').map((e) => e.target_seq));
    return log.filter((e) => e.ts < job.until_ts && !unsent.has(e.seq) && !unsent.has(e.target_seq));
  }

  /** The retraction job: only for a window that notified the reader (their own sends did not). */
  private async retract(job: RetractJob): Promise<void> {
    const { user_id: userId, conv_id: convId, seq } = job;
    // Devices first, as for a window: most readers have no device to retract on.
    // A device first registered after the window ended was not pushed about it; a silent
    // push would only spend a browser's allowance of pushes that show nothing. (Not
    // updated_at: apps register again on every start and token refresh.)
    const devices = ((await this.offlineDevices([userId])).get(userId) ?? []).filter((reg) => takesSilentPush(reg.target) && reg.created_at <= job.until_ts);
    if (devices.length === 0) return;
    const events = await this.windowEvents(job);
    if (burstOf(events, userId, job, await this.reactedAuthors(events)) === null) return;
    // The read marker is written a moment later (coalesced): count this conversation as read.
    const notification: Notification = { kind: 'retract', conv_id: convId, seq, title: '', body: '', badge: await this.badge(userId, convId), tag: convId };
    await Promise.all(devices.map((reg) => this.toDevice(reg, notification, `x-${userId}-${convId}-${seq}-${reg.device_id}`)));
  }

  private toDevice(reg: PushRegistration, notification: Notification, jobId: string): Promise<void> {
    const job: DeviceJob = { job_id: jobId, user_id: reg.user_id, device_id: reg.device_id, target: reg.target, notification };
    // The engine's attempts are the service's: the last one must reach sendToDevice to leave a dead letter.
    return this.opts.jobs.add(deviceQueue, job, { jobId, attempts: this.attempts });
  }

  /** The user's registered devices that have no live session (those get the event live). */
  private async offlineDevices(userIds: readonly string[], readAt?: number): Promise<Map<string, PushRegistration[]>> {
    const out = new Map<string, PushRegistration[]>();
    const regs = (await this.opts.store.getPushRegistrations(userIds)).filter((r) => this.opts.senders[r.target.provider] !== undefined);
    if (readAt !== undefined) this.reach.learn(userIds, new Set(regs.map((r) => r.user_id)), readAt);
    if (regs.length === 0) return out;
    const live = await this.opts.presence.liveDevices([...new Set(regs.map((r) => r.user_id))]);
    for (const reg of regs) {
      if (live.get(reg.user_id)?.has(reg.device_id)) continue;
      const list = out.get(reg.user_id);
      if (list) list.push(reg);
      else out.set(reg.user_id, [reg]);
    }
    return out;
  }

  /**
   * Conversations with unread messages, as the app icon's badge counts them. Asked of the
   * store directly, not from inbox pages: a group's window asks once per member, and an
   * inbox page counts every unread message of every row where one is enough.
   */
  private badge(userId: string, justRead: string | null = null): Promise<number> {
    // Bounded: a badge above a few hundred reads as "many" anyway.
    return this.opts.store.countUnreadConversations(userId, justRead, maxBadge);
  }

  /** One device, one notification: throws to retry; the last attempt keeps a dead letter. */
  private async sendToDevice(job: DeviceJob, attempt: number): Promise<void> {
    const attempts = this.attempts;
    const { store, counters, logger } = this.opts;
    const sender = this.opts.senders[job.target.provider];
    if (!sender) return;
    let result: SendResult;
    try {
      result = await sender.send(job.target, job.notification);
    } catch (err) {
      result = { status: 'retry' };
      logger.warn('push send threw', { user_id: job.user_id, device_id: job.device_id, err });
    }
    counters.sent(job.target.provider, result.status);
    switch (result.status) {
      case 'sent':
        return;
      case 'gone':
        // Expired or unsubscribed: forget it, unless the device registered anew since.
        await store.deletePushRegistrationIfTarget(job.user_id, job.device_id, job.target);
        return;
      case 'retry':
        if (attempt >= attempts) return this.deadLetter(job, `retries exhausted${result.reason === undefined ? '' : ` (last: ${result.reason})`}`, attempt);
        if (result.afterMs !== undefined) return this.retryAfter(job, attempt, result.afterMs);
        throw new Error(`push to ${job.device_id}: provider asked to retry${result.reason === undefined ? '' : ` (${result.reason})`}`);
      case 'failed':
        return this.deadLetter(job, result.reason, attempt);
    }
  }

  /**
   * The push service said when to come back (429/503 Retry-After): the next attempt is a job
   * of its own due then, since the engine's backoff (1 s, 2 s, ...) would knock too early.
   * Its id is derived, so a rerun of this job queues it once.
   */
  private async retryAfter(job: DeviceJob, attempt: number, afterMs: number): Promise<void> {
    if (afterMs > maxRetryAfterMs) return this.deadLetter(job, `push service asked to wait ${Math.round(afterMs / 1000)} s`, attempt);
    const next: DeviceJob = { ...job, attempts_before: attempt };
    await this.opts.jobs.add(deviceQueue, next, { jobId: `${job.job_id}#${attempt}`, delayMs: afterMs, attempts: this.attempts - attempt });
  }

  private async deadLetter(job: DeviceJob, reason: string, attempts: number): Promise<void> {
    this.opts.counters.sent(job.target.provider, 'dead_letter');
    await this.opts.store.addPushDeadLetter(
      {
        // One letter per job: a rerun of the last attempt writes the same letter.
        letter_id: `${job.job_id}`,
        user_id: job.user_id,
        device_id: job.device_id,
        provider: job.target.provider,
        failed_at: Date.now(),
        reason,
        attempts,
        payload: JSON.stringify(job.notification),
      },
      this.opts.deadLetters ?? 100,
    );
  }
}

/** The events of the window that notify `userId`, as one burst; null when none does. */
function burstOf(events: readonly ConvEvent[], userId: string, job: WindowJob, authors: ReadonlyMap<number, string>): Burst | null {
  let b: Burst | null = null;
  for (const e of events) {
    if (!notifies(e, userId, authors)) continue;
    if (b === null) b = startBurst(e, userId, { type: job.conv_type, title: job.conv_title });
    else extend(b, e, userId);
  }
  return b;
}

/** Whether `e` notifies `userId`: another's message; a reaction to their message. */
function notifies(e: ConvEvent, userId: string, authors: ReadonlyMap<number, string>): boolean {
  if (e.sender_id === userId) return false;
  if (e.kind === 'message') return true;
  return e.kind === 'reaction' && e.emoji != null && e.target_seq !== undefined && authors.get(e.target_seq) === userId;
}

function startBurst(event: ConvEvent, userId: string, conv: { type: 'direct' | 'group'; title: string | null }): Burst {
  const b: Burst = {
    user_id: userId,
    conv_id: event.conv_id,
    conv_type: conv.type,
    conv_title: conv.title,
    first_seq: event.seq,
    last_seq: event.seq,
    count: 0,
    sender_id: event.sender_id,
    senders: 0,
    text: '',
    reaction: null,
    mentioned: false,
  };
  extend(b, event, userId);
  return b;
}

function extend(b: Burst, event: ConvEvent, userId: string): void {
  if (b.count > 0 && event.sender_id !== b.sender_id) b.senders = 2;
  else if (b.count === 0) b.senders = 1;
  b.count++;
  b.last_seq = event.seq;
  b.sender_id = event.sender_id;
  b.reaction = event.kind === 'reaction' ? (event.emoji ?? null) : null;
  b.text = event.kind === 'message' ? messagePreview(event.body ?? '', event.attachments) : '';
  if (event.mentions?.includes(userId)) b.mentioned = true;
}
