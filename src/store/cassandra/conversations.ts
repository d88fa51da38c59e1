/** conversations, direct_by_key, conv_members and user_convs: creation and lookups. */
import { ProtocolError, type ConversationType, type MemberRole } from '../../protocol';
import type { ConversationRecord, MemberRecord, NewConversation } from '../types';
import { bool, num, str, type Cql, type Param, type Row, type Statement } from './db';
import { directKeyOf, uniqueMembers } from '../common';

/** A conversations row with the columns only the store uses. */
export interface ConvRow extends ConversationRecord {
  updated_at: number;
  preview: string | null;
  preview_seq: number | null;
  direct_key: string | null;
}

/** A conv_members row with the column only the store uses. */
export interface MemberRow extends MemberRecord {
  updated_at: number;
}

const convColumns = 'conv_id, type, title, created_at, last_seq, member_count, updated_at, preview, preview_seq, direct_key';
const memberColumns = 'conv_id, user_id, role, joined_at, last_read_seq, last_delivered_seq, muted_until, marked_unread, updated_at';

export const insertMemberCql = `INSERT INTO conv_members (${memberColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
export const insertUserConvCql = 'INSERT INTO user_convs (user_id, conv_id) VALUES (?, ?)';
export const deleteMemberCql = 'DELETE FROM conv_members WHERE conv_id = ? AND user_id = ?';
export const deleteUserConvCql = 'DELETE FROM user_convs WHERE user_id = ? AND conv_id = ?';

type CreateResult = { conversation: ConversationRecord; created: boolean };

export class ConversationTable {
  constructor(private readonly db: Cql) {}

  /**
   * Groups: members and their user_convs rows first, the conversation row last (the inbox
   * skips conversations without a row, so a half-created one stays invisible).
   * Direct: the pair's key is claimed with an LWT in direct_by_key, after the conversation
   * row is written, so a losing creator always finds the winner's row; it deletes its own.
   */
  async create(conv: NewConversation): Promise<CreateResult> {
    const members = uniqueMembers(conv.members);
    const row: ConvRow = {
      conv_id: conv.conv_id,
      type: conv.type,
      title: conv.title,
      created_at: conv.created_at,
      last_seq: 0,
      member_count: members.length,
      updated_at: conv.created_at,
      preview: null,
      preview_seq: null,
      direct_key: conv.type === 'direct' ? directKeyOf(members.map((m) => m.user_id)) : null,
    };
    if (row.direct_key === null) {
      await this.writeMembers(conv.conv_id, members, conv.created_at);
      await this.writeConv(row);
      return { conversation: record(row), created: true };
    }
    const existing = await this.db.first('SELECT conv_id FROM direct_by_key WHERE direct_key = ?', [row.direct_key]);
    if (existing !== null) return this.existingDirect(str(existing, 'conv_id') ?? '', conv);
    await this.writeConv(row);
    const claim = await this.db.lwt('INSERT INTO direct_by_key (direct_key, conv_id) VALUES (?, ?) IF NOT EXISTS', [row.direct_key, row.conv_id]);
    if (!claim.applied) {
      await this.db.run('DELETE FROM conversations WHERE conv_id = ?', [row.conv_id]);
      return this.existingDirect(str(claim.row, 'conv_id') ?? '', conv);
    }
    await this.writeMembers(conv.conv_id, members, conv.created_at);
    return { conversation: record(row), created: true };
  }

  async get(convId: string): Promise<ConvRow | null> {
    const row = await this.db.first(`SELECT ${convColumns} FROM conversations WHERE conv_id = ?`, [convId]);
    return row === null ? null : toConv(row);
  }

  async getMembers(convId: string): Promise<MemberRow[]> {
    const rows = await this.db.rows(`SELECT ${memberColumns} FROM conv_members WHERE conv_id = ?`, [convId]);
    return rows.map(toMember).filter((m): m is MemberRow => m !== null);
  }

  async getMember(convId: string, userId: string): Promise<MemberRow | null> {
    const row = await this.db.first(`SELECT ${memberColumns} FROM conv_members WHERE conv_id = ? AND user_id = ?`, [convId, userId]);
    return row === null ? null : toMember(row);
  }

  /** Member rows of `userIds` that exist, by user id. */
  async membersAmong(convId: string, userIds: readonly string[]): Promise<Map<string, MemberRow>> {
    const out = new Map<string, MemberRow>();
    if (userIds.length === 0) return out;
    const rows = await this.db.rows(`SELECT ${memberColumns} FROM conv_members WHERE conv_id = ? AND user_id IN ?`, [convId, [...new Set(userIds)]]);
    for (const r of rows) {
      const m = toMember(r);
      if (m !== null) out.set(m.user_id, m);
    }
    return out;
  }

  /** The user's conversation ids (user_convs). */
  async convIdsOf(userId: string): Promise<string[]> {
    const rows = await this.db.rows('SELECT conv_id FROM user_convs WHERE user_id = ?', [userId]);
    return rows.map((r) => str(r, 'conv_id') ?? '');
  }

  /**
   * The pair's conversation, made whole: a creator that died after its claim may have left
   * it without member rows, so missing ones are added (IF NOT EXISTS: a row that appears
   * meanwhile, markers and all, is never overwritten).
   */
  private async existingDirect(convId: string, conv: NewConversation): Promise<CreateResult> {
    const [row, present] = await Promise.all([this.get(convId), this.membersAmong(convId, conv.members.map((m) => m.user_id))]);
    if (row === null) throw new Error(`store: direct conversation ${convId} is claimed but has no row`);
    const missing = uniqueMembers(conv.members).filter((m) => !present.has(m.user_id));
    await Promise.all(
      missing.map(async (m) => {
        await this.db.lwt(`${insertMemberCql} IF NOT EXISTS`, memberParams(convId, m.user_id, m.role, row.created_at, 0));
        await this.db.run(insertUserConvCql, [m.user_id, convId]);
      }),
    );
    return { conversation: record(row), created: false };
  }

  private async writeMembers(convId: string, members: NewConversation['members'], at: number): Promise<void> {
    const rows: Statement[] = members.map((m) => ({ query: insertMemberCql, params: memberParams(convId, m.user_id, m.role, at, 0) }));
    await Promise.all([this.db.batch(rows), ...members.map((m) => this.db.run(insertUserConvCql, [m.user_id, convId]))]);
  }

  private async writeConv(row: ConvRow): Promise<void> {
    await this.db.run(
      'INSERT INTO conversations (conv_id, type, title, created_at, last_seq, member_count, updated_at, direct_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [row.conv_id, row.type, row.title ?? undefined, row.created_at, 0, row.member_count, row.updated_at, row.direct_key ?? undefined],
    );
  }
}

/** conv_members insert parameters (insertMemberCql order) for a new member. */
export function memberParams(convId: string, userId: string, role: MemberRole, joinedAt: number, lastReadSeq: number): Param[] {
  return [convId, userId, role, joinedAt, lastReadSeq, 0, undefined, false, joinedAt];
}

/** The record callers see (without updated_at). */
export function memberRecord(m: MemberRow): MemberRecord {
  const { updated_at: _, ...rest } = m;
  return rest;
}




export function record(row: ConvRow): ConversationRecord {
  return { conv_id: row.conv_id, type: row.type, title: row.title, created_at: row.created_at, last_seq: row.last_seq, member_count: row.member_count };
}

function toConv(r: Row): ConvRow {
  return {
    conv_id: str(r, 'conv_id') ?? '',
    type: (str(r, 'type') ?? 'group') as ConversationType,
    title: str(r, 'title'),
    created_at: num(r, 'created_at') ?? 0,
    last_seq: num(r, 'last_seq') ?? 0,
    member_count: num(r, 'member_count') ?? 0,
    updated_at: num(r, 'updated_at') ?? 0,
    preview: str(r, 'preview'),
    preview_seq: num(r, 'preview_seq'),
    direct_key: str(r, 'direct_key'),
  };
}

/** Null for a row without role: a marker write that landed after the member's removal. */
function toMember(r: Row): MemberRow | null {
  const role = str(r, 'role');
  if (role === null) return null;
  return {
    conv_id: str(r, 'conv_id') ?? '',
    user_id: str(r, 'user_id') ?? '',
    role: role as MemberRole,
    joined_at: num(r, 'joined_at') ?? 0,
    last_read_seq: num(r, 'last_read_seq') ?? 0,
    last_delivered_seq: num(r, 'last_delivered_seq') ?? 0,
    muted_until: num(r, 'muted_until'),
    marked_unread: bool(r, 'marked_unread'),
    updated_at: num(r, 'updated_at') ?? 0,
  };
}
