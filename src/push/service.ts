/**
 * Push notifications for devices without a live session.
 *
 * On the conversation's owner (the only shard sequencing it): the first notifying event (a
 * message, or a reaction to your message) for a recipient opens a 200 ms window and queues
 * one delayed `push-batch` job for it at once, so the burst survives the owner dying in
 * the window. Any shard runs the job: it reads the window's events from the store (nothing
 * is held in memory), drops recipients who left, muted the conversation (unless
 * mentioned) or have read past the burst meanwhile, finds the recipient's registered
 * devices without a live session (presence knows devices), builds one notification, and
 * queues one `push-device` job per device, so a device's retries never resend to another. A READ that moves a
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

/** What a provider answered for one device. */
export type SendResult = { status: 'sent' } | { status: 'gone' } | { status: 'retry'; afterMs?: number } | { status: 'failed'; reason: string };

/** Sends to one kind of target (Web Push, FCM). */
export interface PushSender {
  send(target: PushTarget, notification: Notification): Promise<SendResult>;
}

export interface PushCounters {
  /** Provider answers, by provider kind and result. */
  sent(kind: PushTarget['provider'], result: SendResult['status'] | 'dead_letter'): void;
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
}

const batchQueue = 'push-batch';
const deviceQueue = 'push-device';
const retractQueue = 'push-retract';
/** How long a recipient counts as pushed about a conversation (for retraction). */
const pushedTtlMs = 24 * 3600_000;

interface DeviceJob {
  /** The job's own id (dead letters are keyed by it). */
  job_id: string;
  user_id: string;
  device_id: string;
  target: PushTarget;
  notification: Notification;
}

/** A recipient's window in a conversation, as the delayed job carries it. */
interface BurstJob {
  user_id: string;
  conv_id: string;
  conv_type: 'direct' | 'group';
  conv_title: string | null;
  /** The event that opened the window, and the end of the window (its ts + the window). */
  first_seq: number;
  until_ts: number;
}

export class PushService {
  /** `${user}\0${conv}` -> when the open window ends (owner side). */
  private readonly windows = new Map<string, number>();
  /** `${user}\0${conv}` -> when the user was last pushed about the conversation (owner side). */
  private readonly pushed = new Map<string, number>();
  private stopped = false;

  constructor(private readonly opts: PushServiceOptions) {
    const attempts = opts.attempts ?? 5;
    opts.jobs.register<BurstJob>(batchQueue, (job) => this.deliverBurst(job), { concurrency: 4 });
    opts.jobs.register<DeviceJob>(deviceQueue, (job, run) => this.sendToDevice(job, run.attempt, attempts), { concurrency: 16 });
    opts.jobs.register<{ user_id: string; conv_id: string; seq: number }>(retractQueue, (job) => this.retract(job.user_id, job.conv_id, job.seq), { concurrency: 4 });
  }

  /**
   * A notifying event was stored (on the owner). `recipients`: who it is for (the sender
   * never is); the rest is decided when the window closes.
   */
  notify(event: ConvEvent, recipients: readonly string[], conv: { type: 'direct' | 'group'; title: string | null }): void {
    if (this.stopped) return;
    const batchMs = this.opts.batchMs ?? 200;
    const now = Date.now();
    for (const userId of recipients) {
      if (userId === event.sender_id) continue;
      const key = `${userId}\0${event.conv_id}`;
      if ((this.windows.get(key) ?? 0) > now) continue; // the open window's job will read this event
      this.windows.set(key, now + batchMs);
      this.pushed.set(key, now);
      if (this.windows.size > 10_000) this.forgetClosed(now);
      if (this.pushed.size > 100_000) this.forgetOld();
      const job: BurstJob = { user_id: userId, conv_id: event.conv_id, conv_type: conv.type, conv_title: conv.title, first_seq: event.seq, until_ts: event.ts + batchMs };
      this.enqueue(batchQueue, job, `b-${userId}-${event.conv_id}-${event.seq}`, batchMs);
    }
  }

  /** A member read the conversation up to `seq`: retract what their other devices were shown. */
  read(userId: string, convId: string, seq: number): void {
    const key = `${userId}\0${convId}`;
    const at = this.pushed.get(key);
    if (at === undefined || this.stopped) return;
    this.pushed.delete(key);
    if (Date.now() - at > pushedTtlMs) return;
    this.enqueue(retractQueue, { user_id: userId, conv_id: convId, seq }, `r-${userId}-${convId}-${seq}`);
  }

  /** Takes no more events (every open window's job is already queued). */
  async stop(): Promise<void> {
    this.stopped = true;
  }

  // ------------------------------------------------------------------ internals

  private enqueue(queue: string, data: unknown, jobId: string, delayMs = 0): void {
    this.opts.jobs.add(queue, data, { jobId, delayMs }).catch((err: unknown) => this.opts.logger.error('push job not queued', { queue, job_id: jobId, err }));
  }

  private forgetClosed(now: number): void {
    for (const [key, until] of this.windows) if (until <= now) this.windows.delete(key);
  }

  private forgetOld(): void {
    const cutoff = Date.now() - pushedTtlMs;
    for (const [key, at] of this.pushed) if (at < cutoff) this.pushed.delete(key);
  }

  /** The burst job: who of the recipient's devices gets what (idempotent: per-device job ids). */
  private async deliverBurst(job: BurstJob): Promise<void> {
    const { store } = this.opts;
    const b = await this.burstOf(job);
    if (b === null) return;
    const member = await store.getMember(b.conv_id, b.user_id);
    if (member === null || member.last_read_seq >= b.last_seq) return; // left, or read it meanwhile
    const muted = member.muted_until === -1 || (member.muted_until !== null && member.muted_until > Date.now());
    if (muted && !b.mentioned) return;
    const devices = await this.offlineDevices(b.user_id);
    if (devices.length === 0) return;
    const [recipient, sender] = await Promise.all([store.getUser(b.user_id), store.getUser(b.sender_id)]);
    const badge = await this.badge(b.user_id);
    const notification = buildNotification(b, {
      previews: recipient?.settings.push_previews ?? true,
      senderName: sender?.display_name ?? sender?.username ?? 'Someone',
      badge,
    });
    // Awaited: the burst's job ends only once every device's job is queued (a rerun re-adds by id).
    await Promise.all(devices.map((reg) => this.toDevice(reg, notification, `d-${b.user_id}-${b.conv_id}-${b.last_seq}-${reg.device_id}`)));
  }

  /** The window's notifying events for the recipient, read from the log; null when none (unsent meanwhile). */
  private async burstOf(job: BurstJob): Promise<Burst | null> {
    const { store } = this.opts;
    const log = await store.readEvents(job.conv_id, job.first_seq - 1, 500);
    // Unsent by now (inside the window or since): nothing to say about it.
    const unsent = new Set(log.filter((e) => e.kind === 'delete').map((e) => e.target_seq));
    let b: Burst | null = null;
    for (const e of log) {
      if (e.ts >= job.until_ts || unsent.has(e.seq) || unsent.has(e.target_seq)) continue;
      if (!(await this.notifiesUser(e, job.user_id))) continue;
      if (b === null) b = startBurst(e, job.user_id, { type: job.conv_type, title: job.conv_title });
      else extend(b, e, job.user_id);
    }
    return b;
  }

  /** Whether `e` notifies `userId`: another's message; a reaction to their message. */
  private async notifiesUser(e: ConvEvent, userId: string): Promise<boolean> {
    if (e.sender_id === userId) return false;
    if (e.kind === 'message') return true;
    if (e.kind !== 'reaction' || e.emoji == null || e.target_seq === undefined) return false;
    return (await this.opts.store.readMessage(e.conv_id, e.target_seq))?.sender_id === userId;
  }

  private async retract(userId: string, convId: string, seq: number): Promise<void> {
    const devices = await this.offlineDevices(userId);
    if (devices.length === 0) return;
    // The read marker is written a moment later (coalesced): count this conversation as read.
    const notification: Notification = { kind: 'retract', conv_id: convId, seq, title: '', body: '', badge: await this.badge(userId, convId), tag: convId };
    await Promise.all(devices.map((reg) => this.toDevice(reg, notification, `x-${userId}-${convId}-${seq}-${reg.device_id}`)));
  }

  private toDevice(reg: PushRegistration, notification: Notification, jobId: string): Promise<void> {
    const job: DeviceJob = { job_id: jobId, user_id: reg.user_id, device_id: reg.device_id, target: reg.target, notification };
    return this.opts.jobs.add(deviceQueue, job, { jobId });
  }

  /** The user's registered devices that have no live session (those get the event live). */
  private async offlineDevices(userId: string): Promise<PushRegistration[]> {
    const [regs, live] = await Promise.all([this.opts.store.getPushRegistrations([userId]), this.opts.presence.liveDevices([userId])]);
    const online = live.get(userId);
    return regs.filter((r) => !online?.has(r.device_id) && this.opts.senders[r.target.provider] !== undefined);
  }

  /** Conversations with unread messages, as the app icon's badge counts them. */
  private async badge(userId: string, justRead: string | null = null): Promise<number> {
    let count = 0;
    let cursor: string | null = null;
    // Bounded: a badge above a few hundred reads as "many" anyway.
    for (let page = 0; page < 5; page++) {
      const p = await this.opts.store.listInbox(userId, cursor, 200);
      count += p.rows.filter((r) => r.conv_id !== justRead && (r.unread > 0 || r.marked_unread)).length;
      if (p.next_cursor === null) break;
      cursor = p.next_cursor;
    }
    return count;
  }

  /** One device, one notification: throws to retry; the last attempt keeps a dead letter. */
  private async sendToDevice(job: DeviceJob, attempt: number, attempts: number): Promise<void> {
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
        if (attempt < attempts) throw new Error(`push to ${job.device_id}: provider asked to retry`);
        return this.deadLetter(job, 'retries exhausted', attempt);
      case 'failed':
        return this.deadLetter(job, result.reason, attempt);
    }
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
