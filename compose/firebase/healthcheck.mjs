// Exit 0 when both emulators answer a real request, 1 otherwise:
// - Auth: its REST API returns the project's emulator configuration;
// - Firestore: a gRPC BatchGetDocuments call (over node:http2, no client library) ends with
//   grpc-status 0.
import http2 from 'node:http2';

const projectId = process.env.FIREBASE_PROJECT_ID || 'refereezy-local';
const deadline = AbortSignal.timeout(2500);

async function authAnswers() {
  const response = await fetch(`http://127.0.0.1:9099/emulator/v1/projects/${projectId}/config`, { signal: deadline });
  return response.ok;
}

/** Protobuf field `number` of wire type 2 (a string), for strings shorter than 128 bytes. */
function stringField(number, value) {
  const bytes = Buffer.from(value);
  return Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
}

function firestoreAnswers() {
  const database = `projects/${projectId}/databases/(default)`;
  // BatchGetDocumentsRequest { database = 1; documents = 2 }
  const message = Buffer.concat([stringField(1, database), stringField(2, `${database}/documents/_healthcheck/probe`)]);
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1); // byte 0: not compressed
  message.copy(frame, 5);
  return new Promise((resolve) => {
    const session = http2.connect('http://127.0.0.1:8080');
    const done = (ok) => {
      session.destroy();
      resolve(ok);
    };
    deadline.addEventListener('abort', () => done(false));
    session.on('error', () => done(false));
    const call = session.request({
      ':method': 'POST',
      ':path': '/google.firestore.v1.Firestore/BatchGetDocuments',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status;
    call.on('response', (headers) => (status = headers['grpc-status'] ?? status));
    call.on('trailers', (trailers) => (status = trailers['grpc-status'] ?? status));
    call.on('error', () => done(false));
    call.on('data', () => {});
    call.on('close', () => done(status === '0'));
    call.end(frame);
  });
}

try {
  const [auth, firestore] = await Promise.all([authAnswers(), firestoreAnswers()]);
  if (!auth) console.error('auth emulator does not answer');
  if (!firestore) console.error('firestore emulator does not answer');
  process.exit(auth && firestore ? 0 : 1);
} catch (error) {
  console.error(error);
  process.exit(1);
}
