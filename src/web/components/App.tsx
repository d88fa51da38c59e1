/** The whole app: the sign-in screen, or the signed-in shell (list + chat). */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, type ChatTransportOption } from '../../client';
import { convFromHash, goTo, useStore } from '../hooks';
import { onOpenChat, pushStatus, refreshPush, turnOff } from '../push';
import { deviceId, loadSession, saveSession, saveTransport, transportPreference, type Session } from '../storage';
import { AppStore } from '../store';
import { AuthScreen } from './Auth';
import { ChatView } from './Chat';
import { NewChatDialog } from './NewChat';
import { Sidebar } from './Sidebar';

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);
  const [transport, setTransport] = useState(() => transportPreference(location.search).value);

  if (!session) {
    return (
      <AuthScreen
        notice={notice}
        onSignedIn={(s) => {
          saveSession(s);
          setNotice(null);
          setSession(s);
        }}
      />
    );
  }
  return (
    <Shell
      key={`${session.user_id}/${transport}`}
      session={session}
      transport={transport}
      onSignedOut={(reason) => {
        saveSession(null);
        goTo(null);
        setNotice(reason);
        setSession(null);
      }}
      onTransport={(t) => {
        saveTransport(t);
        // The setting now decides; drop a `?transport=` that would override it on reload.
        const url = new URL(location.href);
        if (url.searchParams.has('transport')) {
          url.searchParams.delete('transport');
          history.replaceState(null, '', url.toString());
        }
        setTransport(t);
      }}
    />
  );
}

function Shell(props: { session: Session; transport: ChatTransportOption; onSignedOut: (reason: string | null) => void; onTransport: (t: ChatTransportOption) => void }) {
  const store = useMemo(() => new AppStore(props.session, deviceId(), props.transport), [props.session, props.transport]);
  const [convId, setConvId] = useState<string | null>(() => convFromHash(location.hash));
  const [newChat, setNewChat] = useState(false);
  useStore(store);

  useEffect(() => {
    let forget = false;
    store.onSignedOut = (reason) => {
      forget = true;
      props.onSignedOut(reason);
    };
    store.start();
    return () => store.stop(forget);
  }, [store]);

  useEffect(() => {
    // Notifications stay as the user left them: re-registered if on, never asked for here.
    refreshPush(store.client).catch(() => undefined);
    return onOpenChat(goTo);
  }, [store]);

  useEffect(() => {
    const onHash = () => setConvId(convFromHash(location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    store.open(convId);
  }, [store, convId]);

  const unreadTotal = store.conversations().filter((r) => (r.unread > 0 || r.marked_unread) && !store.isMuted(r)).length;
  useEffect(() => {
    const base = convId && store.row(convId) ? `${store.titleOf(store.row(convId)!)} · Relay` : 'Relay';
    document.title = unreadTotal ? `(${unreadTotal}) ${base}` : base;
  });

  return (
    <div class={'app' + (convId ? ' has-chat' : '')} data-testid="app" data-user={props.session.username}>
      <Sidebar
        store={store}
        onNewChat={() => setNewChat(true)}
        onTransport={props.onTransport}
        onSignOut={async (everywhere) => {
          // This browser stops getting the signed-out user's notifications (while the token
          // still counts). Best effort: when the server is unreachable, the dropped
          // subscription answers "gone" to its next push and is removed then.
          await pushStatus()
            .then((s) => (s === 'on' ? turnOff(store.client) : undefined))
            .catch(() => undefined);
          if (everywhere) {
            // Must reach the server: the other devices are signed out only there.
            await store.signOutEverywhere().catch((err: unknown) => {
              if (!(err instanceof ApiError && err.status === 401)) throw err;
            });
          } else {
            // The server forgets this device's token; offline, signing out here still works.
            await store.signOutDevice().catch(() => undefined);
          }
          store.stop(true);
          props.onSignedOut(null);
        }}
      />
      <main class="chat-pane">
        {convId ? (
          <ChatView key={convId} store={store} convId={convId} />
        ) : (
          <div class="placeholder" data-testid="no-chat">
            <p>Select a conversation or start a new one.</p>
          </div>
        )}
      </main>
      {newChat && (
        <NewChatDialog
          store={store}
          onClose={() => setNewChat(false)}
          onOpened={(id) => {
            setNewChat(false);
            goTo(id);
          }}
        />
      )}
    </div>
  );
}
