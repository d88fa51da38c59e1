/** Starting conversations: a direct chat (with a user picked from search, or looked up by exact username) or a group, created over REST. */
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
    return this.directWith(await this.findUser(username));
  }

  /** Opens (or finds) the direct chat with a user picked from search; returns its id. */
  async directWith(user: User): Promise<string> {
    const { d } = this;
    d.users.set(user);
    if (user.user_id === d.meId) throw new Error('That is you: pick someone else.');
    const conv = await d.rest.createConversation({ type: 'direct', member_ids: [user.user_id] });
    d.inbox.members.set(conv.conv_id, conv.members.map((m) => m.user_id));
    d.loader.addRow(conv.conv_id, 'direct', null, user.user_id, conv.created_at);
    return conv.conv_id;
  }

  /** Creates a group of this user and members picked from search; returns its id. */
  async groupWith(title: string, users: User[]): Promise<string> {
    const { d } = this;
    for (const u of users) d.users.set(u);
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
    if (!user) throw new Error(`No one has the username "${name}": pick a person from the list.`);
    this.d.users.set(user);
    return user;
  }
}
