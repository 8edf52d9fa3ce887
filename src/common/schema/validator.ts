// The one ajv setup for the data model (model.ts), and the words of a refusal. Every layer compiles
// its checks here, so all of them read the schema the same way: `x-rule` and `description` are
// annotations, `discriminator` picks the branch of a oneOf by its tag (so an error names the field of
// the kind the client asked for, not of every kind), date-time is whatever Date.parse reads.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { MAX_EXACT_INTEGER } from './model.js';

const ajv = new Ajv2020({ allErrors: true, strict: true, discriminator: true, verbose: true });
ajv.addKeyword({ keyword: 'x-rule', schemaType: 'string' });
ajv.addFormat('date-time', (text: string) => !Number.isNaN(Date.parse(text)));

type Schema = Record<string, unknown>;

/** A compiled check of `schema`; compiled once, at import. */
export function compile<T>(schema: object): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

/** One thing wrong with a value, located and explained from the schema. */
export interface Problem {
  /** `resources[0].bytes`, or the root's name for the value itself. */
  field: string;
  /** What the field must be: `must be a positive integer below 2^53`. */
  rule: string;
  /** The value found (undefined: the field is missing). */
  value: unknown;
  missing: boolean;
  /** additionalProperties: every unknown field of that object, in order. */
  unknownFields?: string[];
  /** additionalProperties: the fields the object may have. */
  knownFields?: string[];
}

/** How a layer words a rule: the API's clients and the store's operators read different things. */
export interface Wording {
  /** Alternatives of an enum: `"fail" or "replace"` or `active | released | lost`. */
  alternatives(values: readonly unknown[]): string;
  /** The range of an integer schema. */
  integer(minimum: number | undefined, maximum: number | undefined): string;
}

const orList = (items: readonly string[]) =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;

/** The client's words (the HTTP API, the CLI and the RVL's callers read them). */
export const requestWording: Wording = {
  alternatives: (values) => orList(values.map((v) => JSON.stringify(v))),
  integer(minimum, maximum) {
    const below =
      maximum === MAX_EXACT_INTEGER ? ' below 2^53' : maximum === undefined ? '' : ` up to ${maximum}`;
    if (minimum === 1) return `a positive integer${below}`;
    if (minimum === 0) return `a non-negative integer${below}`;
    return `an integer${minimum === undefined ? '' : ` >= ${minimum}`}${below}`;
  },
};

/**
 * `/resources/0/bytes` -> `allocation.resources[0].bytes` under root `allocation`, or
 * `resources[0].bytes` under the empty root (a request's fields are named from its top).
 */
export function fieldName(pointer: string, root: string): string {
  if (pointer === '') return root;
  const parts = pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 && root === '' ? part : `.${part}`));
  return `${root}${parts.join('')}`;
}

/** What the value of `schema` must be, in words ("must be a string of 1 to 256 characters"). */
export function ruleOf(schema: Schema | undefined, wording: Wording): string {
  if (!schema) return 'is not allowed';
  if (typeof schema['x-rule'] === 'string') return schema['x-rule'];
  if (Array.isArray(schema.enum)) return `must be ${wording.alternatives(schema.enum)}`;
  if ('const' in schema) return `must be ${JSON.stringify(schema.const)}`;
  if (Array.isArray(schema.oneOf) && isRecord(schema.discriminator)) {
    return `must be an object with ${JSON.stringify(schema.discriminator.propertyName)} one of ${tagsOf(schema).join(', ')}`;
  }
  switch (schema.type) {
    case 'integer':
      return `must be ${wording.integer(schema.minimum as number | undefined, schema.maximum as number | undefined)}`;
    case 'boolean':
      return 'must be a boolean';
    case 'object':
      return 'must be an object';
    case 'array': {
      const min = schema.minItems as number | undefined;
      const max = schema.maxItems as number | undefined;
      return `must be ${min ? 'a non-empty array' : 'an array'}${max === undefined ? '' : ` of at most ${max} items`}`;
    }
    case 'string': {
      if (schema.format === 'date-time') return 'must be a date-time string';
      const min = (schema.minLength as number | undefined) ?? 0;
      const max = schema.maxLength as number | undefined;
      if (typeof schema.pattern === 'string') return `must be a string matching ${schema.pattern}`;
      if (max !== undefined) return `must be a string of ${min} to ${max} characters`;
      return min > 0 ? 'must be a non-empty string' : 'must be a string';
    }
    default:
      return 'is not valid';
  }
}

/** The tag values of a discriminated oneOf, in order (`accelerator`, `memory`, ...). */
export function tagsOf(schema: Schema): string[] {
  const tag = (schema.discriminator as { propertyName: string }).propertyName;
  return (schema.oneOf as Schema[]).flatMap((branch) => {
    const t = (branch.properties as Record<string, Schema>)[tag]!;
    return 'const' in t ? [String(t.const)] : (t.enum as string[]);
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at a JSON pointer of `data` (undefined when absent). */
function at(data: unknown, pointer: string): unknown {
  let value = data;
  for (const part of pointer.split('/').slice(1)) {
    if (!isRecord(value) && !Array.isArray(value)) return undefined;
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    value = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/**
 * The first thing wrong, of the errors ajv reported for `data`: a field's rule, or every unknown field
 * of one object. `oneOf` errors are left out when a branch error says more (the discriminator already
 * chose the branch).
 */
export function firstProblem(
  errors: readonly ErrorObject[],
  data: unknown,
  root: string,
  wording: Wording,
): Problem {
  const useful = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'if');
  const e = useful[0] ?? errors[0];
  if (!e) return { field: root, rule: 'is not valid', value: data, missing: false };
  const parent = e.parentSchema as Schema;
  switch (e.keyword) {
    case 'additionalProperties': {
      const unknownFields = useful
        .filter((x) => x.keyword === 'additionalProperties' && x.instancePath === e.instancePath)
        .map((x) => String((x.params as { additionalProperty: string }).additionalProperty));
      return {
        field: fieldName(e.instancePath, root),
        rule: 'has unknown fields',
        value: at(data, e.instancePath),
        missing: false,
        unknownFields,
        knownFields: Object.keys((parent.properties as Schema | undefined) ?? {}),
      };
    }
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      const pointer = `${e.instancePath}/${missing}`;
      const property = (parent.properties as Record<string, Schema> | undefined)?.[missing];
      return {
        field: fieldName(pointer, root),
        rule: ruleOf(property, wording),
        value: undefined,
        missing: true,
      };
    }
    case 'discriminator': {
      const tag = String((e.params as { tag: string }).tag);
      const pointer = `${e.instancePath}/${tag}`;
      const value = at(data, pointer);
      const tags = tagsOf(parent);
      const rule = `must be ${orList(tags)}`;
      return { field: fieldName(pointer, root), rule, value, missing: value === undefined };
    }
    default:
      return {
        field: fieldName(e.instancePath, root),
        rule: ruleOf(parent, wording),
        value: at(data, e.instancePath),
        missing: false,
      };
  }
}

const QUOTE_CHARS = 32;

/**
 * A value as an error message may show it: strings and numbers quoted up to a short prefix (so that
 * refusing a 60 MB string does not send 60 MB back), objects and arrays by their kind.
 */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (isRecord(value)) return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  if (text.length <= QUOTE_CHARS) return text;
  // The count is the value's own length: a string's quotes (and escapes) are not the client's characters.
  const length = typeof value === 'string' ? value.length : text.length;
  return `${text.slice(0, QUOTE_CHARS)}... (${length} characters)`;
}

/** Unknown fields an error message names (the rest are counted). */
const NAMED_FIELDS = 3;

/**
 * A refusal of a client's request as message and details: the field and what it must be, with the
 * value found; unknown fields named (the first few) and counted. `whole` names the request itself
 * ("request", "job") and `notAnObject` is the message when the body is not even an object.
 */
export function requestRefusal(
  problem: Problem,
  whole: string,
  notAnObject: string,
): { message: string; details: Record<string, unknown> } {
  const field = problem.field || whole;
  if (problem.unknownFields) {
    const named = problem.unknownFields.slice(0, NAMED_FIELDS).map(shown);
    const count = problem.unknownFields.length;
    const more = count > named.length ? ` and ${count - named.length} more` : '';
    return {
      message: `${field}: unknown field(s) ${named.join(', ')}${more}`,
      details: { fields: named, unknownFields: count },
    };
  }
  if (problem.field === '' && !isRecord(problem.value)) return { message: notAnObject, details: {} };
  const message = problem.missing
    ? `${field} is missing: it ${problem.rule}`
    : `${field} ${problem.rule}, got ${shown(problem.value)}`;
  return { message, details: { field } };
}
