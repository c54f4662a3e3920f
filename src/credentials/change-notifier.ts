/**
 * A push channel that wakes change-feed readers as soon as any process commits a change
 * (PostgreSQL LISTEN/NOTIFY). Optional: a store without one is polled only.
 */
export interface ChangeNotifier {
  /**
   * Calls `wake` whenever a change may have been committed by any process, and `onState`
   * when the channel drops (false) or is back (true); after it is back a reader must catch
   * up from its own position. Returns the function that stops listening.
   */
  listen(wake: () => void, onState: (connected: boolean) => void): () => void;
}
