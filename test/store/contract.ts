/**
 * The Store contract suite (src/store/index.ts), written once and run against every
 * engine. It uses fresh random ids everywhere, so it passes whether the factory hands out
 * an empty store per test or one shared store.
 */
import type { Store } from '../../src/store';
import { accountsContract } from './contract-accounts';
import { attachmentsContract } from './contract-attachments';
import type { ContractContext } from './contract-fixtures';
import { eventsContract } from './contract-events';
import { inboxContract } from './contract-inbox';
import { pushContract } from './contract-push';
import { richContract } from './contract-rich';
import { searchContract } from './contract-search';
import { usersContract } from './contract-users';

/** Builds a store for one test and tears it down afterwards. */
export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/** Registers the Store contract tests under `describe(name)`. */
export function runStoreContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store | undefined;
    let cleanup: (() => Promise<void>) | undefined;
    const ctx: ContractContext = {
      store: () => {
        if (store === undefined) throw new Error('no store: the factory failed');
        return store;
      },
    };

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
    });
    afterEach(async () => {
      await cleanup?.();
      store = undefined;
      cleanup = undefined;
    });

    usersContract(ctx);
    eventsContract(ctx);
    inboxContract(ctx);
    richContract(ctx);
    attachmentsContract(ctx);
    pushContract(ctx);
    accountsContract(ctx);
    searchContract(ctx);
  });
}
