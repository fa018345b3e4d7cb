import { z } from 'zod';
import { CompetitionSchema, NewCompetitionSchema } from './competitions/competition.js';
import { ErrorBodySchema } from './http/http-error.js';
import {
  AssignOfficialSchema,
  MatchEventSchema,
  MatchIdSchema,
  MatchListQuerySchema,
  MatchReportSchema,
  MatchSchema,
  NewMatchEventSchema,
  NewMatchReportSchema,
  NewMatchSchema,
  OfficialParamsSchema,
  StatusChangeSchema,
} from './matches/match.js';
import {
  NewRefereeSchema,
  RefereeIdSchema,
  RefereeListQuerySchema,
  RefereeSchema,
  RefereeSummarySchema,
} from './referees/referee.js';

type ObjectSchema = z.ZodObject;

interface Answer {
  description: string;
  schema?: z.ZodType;
}

/** One route, described by the same zod schemas that validate it: the document cannot drift. */
export interface Operation {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express pattern, e.g. /api/matches/:id */
  path: string;
  operationId: string;
  summary: string;
  tag: 'referees' | 'competitions' | 'matches' | 'operations';
  /**
   * Who may call: anyone (public), any signed-in user, admins, per match (officials/admins), or
   * per referee (admins; a referee for themselves and the officials of their matches).
   */
  access?: 'signed-in' | 'admin' | 'per-match' | 'per-referee';
  params?: ObjectSchema;
  query?: ObjectSchema;
  idempotencyKey?: boolean;
  body?: z.ZodType;
  responses: Record<number, Answer>;
}

const page = <Item extends z.ZodType>(item: Item) =>
  z.strictObject({ items: z.array(item), limit: z.number().int(), offset: z.number().int() });
const list = <Item extends z.ZodType>(item: Item) => z.strictObject({ items: z.array(item) });
const error = (description: string): Answer => ({ description, schema: ErrorBodySchema });
const invalid = error('The request is invalid: `error.fields` names each field');
/** Admins get the whole record; referees the summary. */
const refereeAsSeen = z.union([RefereeSchema, RefereeSummarySchema]);

export const operations: Operation[] = [
  {
    method: 'get',
    path: '/healthz',
    operationId: 'liveness',
    summary: 'The process answers',
    tag: 'operations',
    responses: {
      200: {
        description: 'Alive; version: the release this process runs (APP_VERSION), which deploys check',
        schema: z.strictObject({ status: z.literal('ok'), version: z.string() }),
      },
    },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    summary: 'The API answers and reaches PostgreSQL',
    tag: 'operations',
    responses: {
      200: { description: 'Ready', schema: z.strictObject({ status: z.literal('ready'), database: z.literal('ok') }) },
      503: {
        description: 'PostgreSQL does not answer',
        schema: z.strictObject({ status: z.literal('unavailable'), database: z.literal('unreachable') }),
      },
    },
  },
  {
    method: 'get',
    path: '/api/openapi.json',
    operationId: 'openApiDocument',
    summary: 'This document',
    tag: 'operations',
    responses: { 200: { description: 'OpenAPI 3.1 document' } },
  },

  {
    method: 'get',
    path: '/api/referees',
    operationId: 'listReferees',
    access: 'per-referee',
    summary:
      'Referees, newest first: all for admins; for a referee, themselves and the officials of their matches (no email, no uid)',
    tag: 'referees',
    query: RefereeListQuerySchema,
    responses: { 200: { description: 'A page of referees', schema: page(refereeAsSeen) }, 400: invalid },
  },
  {
    method: 'post',
    path: '/api/referees',
    operationId: 'registerReferee',
    access: 'admin',
    summary: 'Register a referee',
    tag: 'referees',
    body: NewRefereeSchema,
    responses: {
      201: { description: 'Registered', schema: RefereeSchema },
      400: invalid,
      409: error('The email or the Firebase user is already registered'),
    },
  },
  {
    method: 'get',
    path: '/api/referees/:id',
    operationId: 'getReferee',
    access: 'per-referee',
    summary: 'One referee (for a referee: themselves or an official of their matches, no email, no uid)',
    tag: 'referees',
    params: RefereeIdSchema,
    responses: {
      200: { description: 'The referee', schema: refereeAsSeen },
      400: invalid,
      404: error('No such referee'),
    },
  },
  {
    method: 'post',
    path: '/api/referees/:id/deactivation',
    operationId: 'deactivateReferee',
    access: 'admin',
    summary:
      'Deactivate a referee at once: the API refuses their requests, Firebase disables the user and revokes their tokens (idempotent)',
    tag: 'referees',
    params: RefereeIdSchema,
    responses: {
      200: { description: 'The referee, deactivated', schema: RefereeSchema },
      400: invalid,
      404: error('No such referee'),
      503: error('Deactivated in the API, but Firebase Auth was not updated: retry'),
    },
  },
  {
    method: 'delete',
    path: '/api/referees/:id/deactivation',
    operationId: 'reactivateReferee',
    access: 'admin',
    summary: 'Reactivate a referee (they sign in again)',
    tag: 'referees',
    params: RefereeIdSchema,
    responses: {
      200: { description: 'The referee, active', schema: RefereeSchema },
      400: invalid,
      404: error('No such referee'),
      503: error('Reactivated in the API, but Firebase Auth was not updated: retry'),
    },
  },

  {
    method: 'get',
    path: '/api/competitions',
    operationId: 'listCompetitions',
    access: 'signed-in',
    summary: 'Competitions, newest season first',
    tag: 'competitions',
    responses: { 200: { description: 'All competitions', schema: list(CompetitionSchema) } },
  },
  {
    method: 'post',
    path: '/api/competitions',
    operationId: 'createCompetition',
    access: 'admin',
    summary: 'Create a competition',
    tag: 'competitions',
    body: NewCompetitionSchema,
    responses: {
      201: { description: 'Created', schema: CompetitionSchema },
      400: invalid,
      409: error('Same name and season exist'),
    },
  },

  {
    method: 'get',
    path: '/api/matches',
    operationId: 'listMatches',
    access: 'per-match',
    summary: 'Matches by kick-off, filtered',
    tag: 'matches',
    query: MatchListQuerySchema,
    responses: { 200: { description: 'A page of matches', schema: page(MatchSchema) }, 400: invalid },
  },
  {
    method: 'post',
    path: '/api/matches',
    operationId: 'scheduleMatch',
    access: 'admin',
    summary: 'Schedule a match',
    tag: 'matches',
    body: NewMatchSchema,
    responses: {
      201: { description: 'Scheduled', schema: MatchSchema },
      400: invalid,
      422: error('The competition does not exist'),
    },
  },
  {
    method: 'get',
    path: '/api/matches/:id',
    operationId: 'getMatch',
    access: 'per-match',
    summary: 'One match with its officials',
    tag: 'matches',
    params: MatchIdSchema,
    responses: { 200: { description: 'The match', schema: MatchSchema }, 400: invalid, 404: error('No such match') },
  },
  {
    method: 'post',
    path: '/api/matches/:id/status',
    operationId: 'changeMatchStatus',
    access: 'per-match',
    summary: 'Move a match: scheduled → live → finished',
    tag: 'matches',
    params: MatchIdSchema,
    body: StatusChangeSchema,
    responses: {
      200: { description: 'The match, moved', schema: MatchSchema },
      400: invalid,
      404: error('No such match'),
      409: error('Not the next status'),
    },
  },
  {
    method: 'put',
    path: '/api/matches/:id/officials/:role',
    operationId: 'assignOfficial',
    access: 'admin',
    summary: 'Give a referee an official role in a match',
    tag: 'matches',
    params: OfficialParamsSchema,
    body: AssignOfficialSchema,
    responses: {
      200: { description: 'The match with its officials', schema: MatchSchema },
      400: invalid,
      404: error('No such match'),
      409: error('The match is finished, or the referee has another role'),
      422: error('The referee does not exist'),
    },
  },
  {
    method: 'get',
    path: '/api/matches/:id/events',
    operationId: 'listMatchEvents',
    access: 'per-match',
    summary: 'The match timeline, in match-clock order',
    tag: 'matches',
    params: MatchIdSchema,
    responses: {
      200: { description: 'Events', schema: list(MatchEventSchema) },
      400: invalid,
      404: error('No such match'),
    },
  },
  {
    method: 'post',
    path: '/api/matches/:id/events',
    operationId: 'recordMatchEvent',
    access: 'per-match',
    summary: 'Record an event from the watch, once per Idempotency-Key',
    tag: 'matches',
    params: MatchIdSchema,
    idempotencyKey: true,
    body: NewMatchEventSchema,
    responses: {
      200: {
        description: 'A retry: the event this key already recorded (Idempotent-Replayed: true)',
        schema: MatchEventSchema,
      },
      201: { description: 'Recorded', schema: MatchEventSchema },
      400: invalid,
      404: error('No such match'),
      409: error('The match is not live'),
      422: error('The key already recorded a different event'),
    },
  },
  {
    method: 'put',
    path: '/api/matches/:id/report',
    operationId: 'submitMatchReport',
    access: 'per-match',
    summary: "Submit the referee's report of a finished match",
    tag: 'matches',
    params: MatchIdSchema,
    body: NewMatchReportSchema,
    responses: {
      201: { description: 'Submitted', schema: MatchReportSchema },
      400: invalid,
      404: error('No such match'),
      409: error('The match is not finished, or its report exists'),
    },
  },
  {
    method: 'get',
    path: '/api/matches/:id/report',
    operationId: 'getMatchReport',
    access: 'per-match',
    summary: "The referee's report",
    tag: 'matches',
    params: MatchIdSchema,
    responses: {
      200: { description: 'The report', schema: MatchReportSchema },
      400: invalid,
      404: error('No report yet'),
    },
  },
];

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function parameters(schema: ObjectSchema | undefined, location: 'path' | 'query') {
  if (!schema) return [];
  const { properties = {}, required = [] } = jsonSchema(schema, 'input');
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.includes(name),
    schema: property,
  }));
}

/** Express's /a/:id becomes OpenAPI's /a/{id}. */
export const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

const unauthenticated = error(
  'No valid Firebase ID token (`Authorization: Bearer <token>`), or its user was revoked, disabled or deactivated',
);
const forbidden: Record<NonNullable<Operation['access']>, Answer | undefined> = {
  'signed-in': undefined,
  admin: error('The caller is not an admin'),
  'per-match': error('The caller holds no role in this match that allows it'),
  'per-referee': error('The caller is not an admin, and the referee is neither them nor an official of their matches'),
};
const unavailable = error('Firebase Auth or the database did not answer in time: retry (Retry-After)');
const writeLimited = error('Too many writes from this user (API_WRITE_LIMIT_*): retry after Retry-After seconds');

/** The answers every protected operation may give, besides its own. */
function accessAnswers(operation: Operation): Record<number, Answer> {
  if (!operation.access) return {};
  const answers: Record<number, Answer> = { 401: unauthenticated, 503: unavailable };
  if (operation.method !== 'get') answers[429] = writeLimited;
  const refused = forbidden[operation.access];
  if (refused) answers[403] = refused;
  return answers;
}

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of operations) {
    const item = (paths[openApiPath(operation.path)] ??= {});
    const responses = { ...accessAnswers(operation), ...operation.responses };
    item[operation.method] = {
      operationId: operation.operationId,
      summary: operation.summary,
      tags: [operation.tag],
      ...(operation.access ? { security: [{ firebaseIdToken: [] }] } : {}),
      parameters: [
        ...parameters(operation.params, 'path'),
        ...parameters(operation.query, 'query'),
        ...(operation.idempotencyKey
          ? [
              {
                name: 'Idempotency-Key',
                in: 'header',
                required: true,
                description: 'One per event, reused on retries',
                schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{8,128}$' },
              },
            ]
          : []),
      ],
      ...(operation.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(operation.body, 'input') } },
            },
          }
        : {}),
      responses: Object.fromEntries(
        Object.entries(responses).map(([status, answer]) => [
          status,
          {
            description: answer.description,
            ...(answer.schema
              ? { content: { 'application/json': { schema: jsonSchema(answer.schema, 'output') } } }
              : {}),
          },
        ]),
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Refereezy API',
      version: '1.0.0',
      description: 'The API the mobile, watch and web apps call. Errors are `{ error: { code, message, fields? } }`.',
    },
    servers: [{ url: '/' }],
    tags: [{ name: 'referees' }, { name: 'competitions' }, { name: 'matches' }, { name: 'operations' }],
    components: {
      securitySchemes: {
        firebaseIdToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A Firebase ID token. Admins carry the custom claim role=admin; referees are linked by their Firebase uid.',
        },
      },
    },
    paths,
  };
}
