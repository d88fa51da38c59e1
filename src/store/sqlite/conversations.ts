/** The conversations and conv_members tables: creation and lookups. */
import type Database from 'better-sqlite3';
import { ProtocolError, type ConversationType, type MemberRole } from '../../protocol';
import type { ConversationRecord, MemberRecord, NewConversation } from '../index';
import { directKeyOf, uniqueMembers } from '../common';

interface ConversationRow {
  conv_id: string;
  type: string;
  title: string | null;
  created_at: number;
  last_seq: number;
  member_count: number;
}

interface MemberRow {
  conv_id: string;
  user_id: string;
  role: string;
  joined_at: number;
  last_read_seq: number;
  last_delivered_seq: number;
  muted_until: number | null;
  marked_unread: number;
}

const convColumns = 'conv_id, type, title, created_at, last_seq, member_count';
const memberColumns = 'conv_id, user_id, role, joined_at, last_read_seq, last_delivered_seq, muted_until, marked_unread';

type CreateResult = { conversation: ConversationRecord; created: boolean };

/** Synchronous conversation queries; SqliteStore wraps them in promises. */
export class ConversationTable {
  private readonly insertConv: Database.Statement<[string, string, string | null, number, number, number, string | null]>;
  private readonly insertMember: Database.Statement<[string, string, string, number, number]>;
  private readonly byId: Database.Statement<[string], ConversationRow>;
  private readonly byDirectKey: Database.Statement<[string], ConversationRow>;
  private readonly members: Database.Statement<[string], MemberRow>;
  private readonly member: Database.Statement<[string, string], MemberRow>;
  private readonly createTx: Database.Transaction<(conv: NewConversation) => CreateResult>;

  constructor(db: Database.Database) {
    this.insertConv = db.prepare(
      `INSERT INTO conversations (conv_id, type, title, created_at, member_count, updated_at, direct_key, last_seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0)`,
    );
    this.insertMember = db.prepare(
      `INSERT INTO conv_members (conv_id, user_id, role, joined_at, updated_at, last_read_seq, last_delivered_seq)
       VALUES (?, ?, ?, ?, ?, 0, 0)`,
    );
    this.byId = db.prepare(`SELECT ${convColumns} FROM conversations WHERE conv_id = ?`);
    this.byDirectKey = db.prepare(`SELECT ${convColumns} FROM conversations WHERE direct_key = ?`);
    this.members = db.prepare(`SELECT ${memberColumns} FROM conv_members WHERE conv_id = ?`);
    this.member = db.prepare(`SELECT ${memberColumns} FROM conv_members WHERE conv_id = ? AND user_id = ?`);
    this.createTx = db.transaction((conv: NewConversation) => this.createInTx(conv));
  }

  create(conv: NewConversation): CreateResult {
    // IMMEDIATE takes the write lock before the direct_key lookup, so two connections
    // creating the same pair cannot both miss it.
    return this.createTx.immediate(conv);
  }

  get(convId: string): ConversationRecord | null {
    const row = this.byId.get(convId);
    return row === undefined ? null : toConversation(row);
  }

  getMembers(convId: string): MemberRecord[] {
    return this.members.all(convId).map(toMember);
  }

  getMember(convId: string, userId: string): MemberRecord | null {
    const row = this.member.get(convId, userId);
    return row === undefined ? null : toMember(row);
  }

  private createInTx(conv: NewConversation): CreateResult {
    const members = uniqueMembers(conv.members);
    let directKey: string | null = null;
    if (conv.type === 'direct') {
      directKey = directKeyOf(members.map((m) => m.user_id));
      const existing = this.byDirectKey.get(directKey);
      if (existing !== undefined) return { conversation: toConversation(existing), created: false };
    }
    this.insertConv.run(conv.conv_id, conv.type, conv.title, conv.created_at, members.length, conv.created_at, directKey);
    for (const m of members) {
      this.insertMember.run(conv.conv_id, m.user_id, m.role, conv.created_at, conv.created_at);
    }
    return {
      conversation: {
        conv_id: conv.conv_id,
        type: conv.type,
        title: conv.title,
        created_at: conv.created_at,
        last_seq: 0,
        member_count: members.length,
      },
      created: true,
    };
  }
}




function toConversation(row: ConversationRow): ConversationRecord {
  return {
    conv_id: row.conv_id,
    type: row.type as ConversationType,
    title: row.title,
    created_at: row.created_at,
    last_seq: row.last_seq,
    member_count: row.member_count,
  };
}

function toMember(row: MemberRow): MemberRecord {
  return {
    conv_id: row.conv_id,
    user_id: row.user_id,
    role: row.role as MemberRole,
    joined_at: row.joined_at,
    last_read_seq: row.last_read_seq,
    last_delivered_seq: row.last_delivered_seq,
    muted_until: row.muted_until,
    marked_unread: row.marked_unread !== 0,
  };
}
