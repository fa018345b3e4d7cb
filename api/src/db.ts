import pg from 'pg';
import type { ApiConfig } from './config.js';

export type Database = pg.Pool;

export function createDatabase(config: ApiConfig): Database {
  return new pg.Pool({
    host: config.DB_HOST,
    port: config.DB_PORT,
    database: config.DB_NAME,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    max: config.DB_POOL_MAX,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'refereezy-api',
    // Session settings sent at connect (0 leaves the server's default, which is "no limit").
    ...(config.DB_STATEMENT_TIMEOUT_MS > 0 ? { statement_timeout: config.DB_STATEMENT_TIMEOUT_MS } : {}),
    ...(config.DB_LOCK_TIMEOUT_MS > 0 ? { lock_timeout: config.DB_LOCK_TIMEOUT_MS } : {}),
    ...(config.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS > 0
      ? { idle_in_transaction_session_timeout: config.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS }
      : {}),
  });
}

/** True when the database answers a query; used by /readyz. */
export async function databaseAnswers(db: Database): Promise<boolean> {
  try {
    await db.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

/** Runs `work` in one transaction on one connection: committed if it resolves, rolled back if not. */
export async function inTransaction<T>(db: Database, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  const lost = watchSession(client);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // When the server ended the session, its reason (e.g. the idle-in-transaction timeout) is the cause.
    if (lost.error) throw lost.error;
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    lost.stop();
    // A session the server ended is closed, not returned to the pool.
    client.release(lost.error);
  }
}

/**
 * Listens for the server ending a checked-out session (idle_in_transaction_session_timeout, a
 * restart, pg_terminate_backend): its next query fails, and the connection must not be reused.
 * Without a listener pg throws the event and the process ends.
 */
export function watchSession(client: pg.PoolClient): { error: Error | undefined; stop(): void } {
  const state = {
    error: undefined as Error | undefined,
    stop: () => client.removeListener('error', onError),
  };
  // The first error says why (e.g. the server's FATAL message); the socket closing follows it.
  const onError = (error: Error) => {
    state.error ??= error;
  };
  client.on('error', onError);
  return state;
}
