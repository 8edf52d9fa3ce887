// Operator-defined request classes (DRA DeviceClass, docs/grm.md "Classes"): named selectors a tenant's
// resource refers to by `class`. Read once from a JSON file at start and checked whole: a bad file
// stops the server with the class and the character at fault, instead of failing requests later.
import { readFileSync } from 'node:fs';
import { RaError } from '../common/errors.js';
import { requestClassesFileSchema } from '../common/schema/model.js';
import type { RequestClass } from '../common/schema/types.js';
import { compile, firstProblem, requestRefusal, requestWording } from '../common/schema/validator.js';
import { selectorOf } from '../rvl/selector.js';
import { GrmCode } from './types.js';

export type { RequestClass };

/** Classes by name. */
export type RequestClasses = ReadonlyMap<string, RequestClass>;

const checkFile = compile<{ classes: RequestClass[] }>(requestClassesFileSchema);

/** Checks a parsed class file (schema, unique names, selectors that compile); `where` names it. */
export function requestClassesOf(data: unknown, where: string): RequestClasses {
  if (!checkFile(data)) {
    const { message } = requestRefusal(
      firstProblem(checkFile.errors ?? [], data, '', requestWording),
      'classes',
      'the file must be a JSON object {"classes": [{"name", "selector", "description"?}]}',
    );
    throw new RaError(GrmCode.INVALID_REQUEST, `${where}: ${message}`);
  }
  const out = new Map<string, RequestClass>();
  for (const [i, c] of data.classes.entries()) {
    if (out.has(c.name))
      throw new RaError(GrmCode.INVALID_REQUEST, `${where}: classes[${i}]: class ${c.name} is defined twice`);
    try {
      selectorOf(c.selector, `classes[${i}].selector`);
    } catch (err) {
      throw new RaError(GrmCode.INVALID_REQUEST, `${where}: ${(err as Error).message}`);
    }
    out.set(c.name, { ...c });
  }
  return out;
}

/** Reads and checks the class file at `file`. */
export function loadRequestClasses(file: string): RequestClasses {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RaError(
      GrmCode.INVALID_REQUEST,
      `cannot read request classes from ${file}: ${(err as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new RaError(GrmCode.INVALID_REQUEST, `${file} is not JSON: ${(err as Error).message}`);
  }
  return requestClassesOf(data, file);
}
