// Prints a Firebase ID token for a user of the local Auth emulator, creating the user (and setting
// its role claim) first when needed. For developers and tests of the replica, where the emulator is
// on the private network: `docker compose exec firebase node id-token.mjs --email a@b.c --role admin`.
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    email: { type: 'string' },
    password: { type: 'string', default: 'refereezy-local-password' },
    role: { type: 'string', default: 'referee' },
    uid: { type: 'string' },
  },
});
if (!values.email || !/^[^@\s]+@[^@\s]+$/.test(values.email)) {
  console.error(
    'usage: node id-token.mjs --email <address> [--role admin|referee] [--uid <uid>] [--password <password>]',
  );
  process.exit(2);
}
if (!['admin', 'referee'].includes(values.role)) {
  console.error(`id-token: --role must be admin or referee, not ${values.role}`);
  process.exit(2);
}

const project = process.env.FIREBASE_PROJECT_ID || 'refereezy-local';
const base = 'http://127.0.0.1:9099/identitytoolkit.googleapis.com/v1';
// The emulator accepts "owner" as the admin credential for its project-scoped endpoints.
const asOwner = { 'content-type': 'application/json', authorization: 'Bearer owner' };

async function call(url, body, headers = { 'content-type': 'application/json' }) {
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer?.error?.message ?? `HTTP ${response.status}`);
  return answer;
}

const signIn = () =>
  call(`${base}/accounts:signInWithPassword?key=local`, {
    email: values.email,
    password: values.password,
    returnSecureToken: true,
  });

let localId;
try {
  ({ localId } = await signIn());
} catch (error) {
  if (!/EMAIL_NOT_FOUND/.test(error.message)) throw error;
  ({ localId } = await call(
    `${base}/projects/${project}/accounts`,
    { email: values.email, password: values.password, ...(values.uid ? { localId: values.uid } : {}) },
    asOwner,
  ));
}
// The role claim is (re)set on every call, then a fresh sign-in returns a token that carries it.
await call(
  `${base}/projects/${project}/accounts:update`,
  { localId, customAttributes: JSON.stringify({ role: values.role }) },
  asOwner,
);
const { idToken } = await signIn();
process.stdout.write(`${JSON.stringify({ uid: localId, idToken })}\n`);
