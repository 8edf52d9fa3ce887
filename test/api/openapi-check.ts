// The OpenAPI document as a checker of live responses: finds the documented operation of a request,
// requires the response's status to be documented, and validates a JSON body against its schema
// (component responses and schemas resolved through ajv).
import { Ajv2020 } from 'ajv/dist/2020.js';
import { openApiDocument } from '../../src/api/openapi.js';

interface Response {
  $ref?: string;
  content?: Record<string, { schema: object }>;
}
interface Operation {
  responses: Record<string, Response>;
}
const doc = openApiDocument as unknown as {
  paths: Record<string, Record<string, Operation | unknown>>;
  components: { responses: Record<string, Response> } & Record<string, unknown>;
};

/** The documented path template `url` matches ("/v1/allocations/a-1" -> "/v1/allocations/{id}"). */
function templateOf(url: string): string | undefined {
  const path = url.split('?')[0]!;
  return Object.keys(doc.paths).find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
}

export function openApiChecker() {
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  ajv.addSchema({ $id: 'doc', components: doc.components });
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  const validate = (schema: object) => {
    const text = JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/');
    let v = compiled.get(text);
    if (!v) {
      v = ajv.compile(JSON.parse(text));
      compiled.set(text, v);
    }
    return v;
  };
  /** Problems with one response: [] when it is documented and its body fits the schema. */
  return (
    method: string,
    url: string,
    status: number,
    contentType: string | undefined,
    body: string,
  ): string[] => {
    const template = templateOf(url);
    if (!template) return [`${method} ${url}: no documented path`];
    const op = doc.paths[template]![method.toLowerCase()] as Operation | undefined;
    if (!op) return [`${method} ${template}: not documented`];
    let response = op.responses[String(status)];
    if (!response) return [`${method} ${template}: status ${status} is not documented`];
    if (response.$ref) response = doc.components.responses[response.$ref.split('/').pop()!]!;
    const schema = response.content?.['application/json']?.schema;
    if (schema === undefined)
      return body === '' ? [] : [`${method} ${template} ${status}: a body where none is documented`];
    if (!contentType?.startsWith('application/json')) return [`${method} ${template} ${status}: not JSON`];
    const v = validate(schema);
    return v(JSON.parse(body))
      ? []
      : (v.errors ?? []).map((e) => `${method} ${template} ${status}: ${e.instancePath} ${e.message}`);
  };
}
