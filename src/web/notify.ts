/** How the store's parts report back to `AppStore`, which renders, saves and shows notices. */
export interface Notify {
  /** Something in the model changed: render (coalesced), and save unless `persist` is false. */
  changed(persist?: boolean): void;
  /** An action or load failed: a notice on the status line, or sign-out if the token was refused. */
  fail(err: unknown): void;
}
