// The drill's write load: a small Node program run where the API is reachable on its own port (in
// the replica: inside the api container, node is there), writing one referee at a time through the
// API (POST /api/referees) and printing each attempt as a JSON line (measure.ts's Attempt).
// Bounded: at most \`max\` writes and \`seconds\` seconds; it stops early once writes have failed
// and then succeeded \`recoveredStreak\` times in a row (the disaster is over). The program goes to
// node on stdin, its settings (the admin's token among them) inside it: never in argv.
const loadBody = String.raw`
const { token, run, url, max, seconds, intervalMs: interval, recoveredStreak: streakToStop } = settings;
const until = Date.now() + seconds * 1000;
let failures = 0, streak = 0;
for (let seq = 0; seq < max && Date.now() < until; seq++) {
  const key = 'drill-' + run + '-' + seq + '@drill.refereezy.test';
  const start = Date.now();
  let ok = false, status = 0, error;
  try {
    const response = await fetch(url + '/api/referees', {
      method: 'POST',
      headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'drill ' + seq, email: key, licenceLevel: 'regional' }),
      signal: AbortSignal.timeout(10000),
    });
    status = response.status;
    ok = status === 201;
    const text = await response.text();
    if (!ok) error = text.slice(0, 200);
  } catch (caught) {
    error = String(caught && caught.message ? caught.message : caught);
  }
  const end = Date.now();
  process.stdout.write(JSON.stringify({ seq, key, ok, status, start, end, ...(error === undefined ? {} : { error }) }) + '\n');
  if (ok) streak++; else { failures++; streak = 0; }
  if (failures > 0 && streak >= streakToStop) break;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, interval - (end - start))));
}
`;

export interface LoadSettings {
  token: string;
  run: string;
  url: string;
  max: number;
  seconds: number;
  intervalMs: number;
  recoveredStreak: number;
}

/** The whole program, settings first, for `node --input-type=module -` on stdin. */
export function loadProgram(settings: LoadSettings): string {
  return `const settings = ${JSON.stringify(settings)};\n${loadBody}`;
}
