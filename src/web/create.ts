/** Starting conversations: users looked up by username, then a direct chat or a group created over REST. */
import type { RestClient, User } from '../client';
import type { Inbox } from './inbox';
import type { Loader } from './loading';
import type { UserDirectory } from './users';

export interface CreatorDeps {
  meId: string;
  rest: Pick<RestClient, 'findUsers' | 'createConversation'>;
  inbox: Inbox;
  users: UserDirectory;
  loader: Loader;
}

export class ChatCreator {
  constructor(private readonly d: CreatorDeps) {}

  /** Opens (or finds) the direct chat with `username`; returns its id. */
  async direct(username: string): Promise<string> {
    const { d } = this;
    const user = await this.findUser(username);
    if (user.user_id === d.meId) throw new Error('That is you: pick someone else.');
    const conv = await d.rest.createConversation({ type: 'direct', member_ids: [user.user_id] });
    d.inbox.members.set(conv.conv_id, conv.members.map((m) => m.user_id));
    d.loader.addRow(conv.conv_id, 'direct', null, user.user_id, conv.created_at);
    return conv.conv_id;
  }

  /** Creates a group of this user and `usernames`; returns its id. */
  async group(title: string, usernames: string[]): Promise<string> {
    const { d } = this;
    const users = await Promise.all(usernames.map((u) => this.findUser(u)));
    const ids = [...new Set(users.map((u) => u.user_id).filter((id) => id !== d.meId))];
    if (!ids.length) throw new Error('Add at least one other member.');
    const conv = await d.rest.createConversation({ type: 'group', member_ids: ids, ...(title.trim() ? { title: title.trim() } : {}) });
    d.inbox.members.set(conv.conv_id, conv.members.map((m) => m.user_id));
    d.loader.addRow(conv.conv_id, 'group', conv.title, null, conv.created_at);
    return conv.conv_id;
  }

  private async findUser(username: string): Promise<User> {
    const name = username.trim().replace(/^@/, '');
    if (!name) throw new Error('Enter a username.');
    const found = await this.d.rest.findUsers(name);
    const user = found[0];
    if (!user) throw new Error(`No user named "${name}".`);
    this.d.users.set(user);
    return user;
  }
}
