// Valid requests for every route of the API's OpenAPI document, generated from its schemas
// (json-schema-faker), for the WAF's false-positive test: none may be blocked.
import { createGeneratorSync } from 'json-schema-faker';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiDocument } from '../../api/src/openapi.js';
import type { ProbeRequest } from './waf-corpus.js';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Record<string, unknown>;
}
interface OperationObject {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: { 'application/json': { schema: Record<string, unknown> } } };
}
type Paths = Record<string, Record<string, OperationObject>>;

// What people really type into the free-text fields (the generated strings are letters and digits):
// apostrophes, accents, dashes, parentheses, numbers: the prose that naive SQL and XSS filters trip on.
const realistic: Record<string, string[]> = {
  name: [
    'Pierluigi Collina',
    'Bibiana Steinhaus',
    "Seán O'Neill",
    'José María Sánchez-Martínez',
    "Anne-Marie D'Souza",
    'Li Wei',
  ],
  homeTeam: [
    'Real Sociedad',
    'Athletic Club',
    "St. Patrick's Athletic",
    'Brighton & Hove Albion',
    'FC Köln',
    'Select XI',
  ],
  awayTeam: [
    "Queen's Park",
    "Borussia M'gladbach",
    'Union Berlin',
    "Newell's Old Boys",
    'Deportivo Alavés',
    'Drop Zone FC',
  ],
  venue: [
    'Estadio de Anoeta (Donostia)',
    "St James' Park",
    'Parc des Princes, Paris',
    "Pitch 3 — Parque O'Higgins",
    'Municipal "El Sardinero"',
  ],
  player: ['4', '10', "9 (O'Brien)", 'Müller', 'No. 23 — replaced'],
  summary: [
    "Home side's no. 4 sent off (2nd yellow, 67'); abandoned for 10 min — floodlight failure. 1-0 at half-time.",
    'Kick-off delayed 15 minutes: fog. Both captains informed; no incidents. Final score 2-2 & penalties not required.',
    "Select group of away fans threw objects (coins) at AR1 at 80'; reported to the league. Update: stewards removed them.",
    'Player #7 (away) cautioned for dissent: "that\'s never a foul, ref!" — then apologised after the match.',
    'Drop ball restart at 55:30 after an injury; order by the 4th official to check the substitution board.',
  ],
};

/** Replaces generated free text with realistic prose of the same field (within its schema's limits). */
function humanise(value: unknown, index: number): unknown {
  if (Array.isArray(value)) return value.map((item) => humanise(item, index));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => {
      const texts = realistic[key];
      return [
        key,
        typeof field === 'string' && texts ? (texts[index % texts.length] ?? field) : humanise(field, index),
      ];
    }),
  );
}

/**
 * `perOperation` requests for each operation of the document: path and query parameters and JSON
 * bodies generated from their schemas (so with the free text, emails, dates and enums a real client
 * sends), each body checked valid by Ajv before it is used. Deterministic for a seed.
 */
export function validRequests(token: string, { perOperation = 5, seed = 20261202 } = {}): ProbeRequest[] {
  const document = openApiDocument() as { paths: Paths };
  const ajv = new Ajv2020({ strict: false });
  addFormats.default(ajv);
  const faker = createGeneratorSync({ seed, alwaysFakeOptionals: false, optionalsProbability: 0.7, maxItems: 3 });
  const requests: ProbeRequest[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const validBody = operation.requestBody
        ? ajv.compile(operation.requestBody.content['application/json'].schema)
        : undefined;
      for (let index = 0; index < perOperation; index += 1) {
        const parameters = operation.parameters ?? [];
        const path = template.replace(/\{(\w+)\}/g, (_whole, name: string) => {
          const parameter = parameters.find((candidate) => candidate.in === 'path' && candidate.name === name);
          return encodeURIComponent(String(parameter ? faker.generate(parameter.schema) : '1'));
        });
        const query = new URLSearchParams();
        for (const parameter of parameters.filter((candidate) => candidate.in === 'query')) {
          if (!parameter.required && index % 2 === 0) continue;
          query.set(parameter.name, String(faker.generate(parameter.schema)));
        }
        const headers: Record<string, string> = { authorization: `Bearer ${token}` };
        for (const parameter of parameters.filter((candidate) => candidate.in === 'header'))
          headers[parameter.name.toLowerCase()] = String(faker.generate(parameter.schema));
        let body: string | undefined;
        if (operation.requestBody && validBody) {
          const generated = faker.generate(operation.requestBody.content['application/json'].schema);
          // Realistic prose where the schema takes it; the generated value where it does not (an email field, a pattern).
          const human = humanise(generated, index);
          const value = validBody(human) ? human : generated;
          if (!validBody(value))
            throw new Error(
              `${method.toUpperCase()} ${template}: json-schema-faker made a body the schema refuses: ${ajv.errorsText(validBody.errors)}`,
            );
          body = JSON.stringify(value);
          headers['content-type'] = 'application/json';
        }
        const search = query.toString();
        requests.push({
          category: 'legitimate',
          label: `${operation.operationId} #${index + 1}: ${method.toUpperCase()} ${path}${search ? `?${search}` : ''}${body ? ` ${body}` : ''}`,
          method: method.toUpperCase(),
          path: `${path}${search ? `?${search}` : ''}`,
          headers,
          ...(body === undefined ? {} : { body }),
        });
      }
    }
  }
  return requests;
}
