import { attackCorpus, probeCorpus } from './waf-corpus.js';
import { validRequests } from './openapi-requests.js';
const url = process.argv[2] ?? '';
const token = 'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ1c2VyX2lkIjoiYWJjIiwiZW1haWwiOiJhQGIuYyJ9.';
const attacks = await probeCorpus(url, attackCorpus(token));
console.log('attacks', attacks.total, attacks.blocked, attacks.rate.toFixed(3), JSON.stringify(attacks.byCategory));
console.log(attacks.missed.join('\n'));
const valid = await probeCorpus(url, validRequests(token, { perOperation: 10 }));
console.log('valid', valid.total, 'blocked', valid.blocked);
