// Exit 0 when the API is ready (it answers and reaches Postgres), 1 otherwise.
const port = process.env.API_PORT ?? '3000';
try {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2500) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
