// The selector language (docs/grm.md "Selectors"): a small subset of CEL's syntax, so every selector
// is also a CEL expression with the same meaning, parsed here by a recursive-descent parser into a
// typed tree and compiled to one closure over an adapter. Why not a CEL library: the planner evaluates
// a selector per candidate adapter (up to the whole pool), so the evaluation must cost nanoseconds,
// an error must say the character where it is, and the cost of any selector must be bounded before it
// runs; a subset with a real grammar gives all three without a dependency.
//
//   expr     = or
//   or       = and { "||" and }
//   and      = unary { "&&" unary }
//   unary    = "!" unary | relation
//   relation = operand [ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") operand ]
//   operand  = "(" expr ")" | string | number | "true" | "false" | list
//            | attribute [ "." ("startsWith" | "endsWith" | "contains") "(" string ")" ]
//   list     = "[" [ literal { "," literal } ] "]"
//
// Types are checked when compiled: == and != compare two values of one type, < <= > >= two numbers,
// `x in L` a string or number with a list (a literal list, or `functions`), && || ! booleans; the
// whole selector must be a boolean. Cost: at most MAX_SELECTOR_LENGTH characters and
// MAX_SELECTOR_NODES nodes, nesting at most MAX_SELECTOR_DEPTH; evaluation visits each node once.
import { MAX_SELECTOR_LENGTH } from '../common/schema/model.js';
import { type AttributeValue, attributeNames, attributes } from './attributes.js';
import type { AdapterAvailability } from './availability.js';
import { invalidRequest, type RvlError } from './errors.js';

export { MAX_SELECTOR_LENGTH };
/** Most nodes (operators, operands, list items) one selector may have. */
export const MAX_SELECTOR_NODES = 256;
/** Deepest nesting of parentheses and operators. */
export const MAX_SELECTOR_DEPTH = 32;

export type Selector = (a: AdapterAvailability) => boolean;

type Type = 'string' | 'number' | 'bool' | 'list';
type Value = AttributeValue | boolean;
interface Typed {
  type: Type;
  /** Evaluates the node against one adapter. */
  eval: (a: AdapterAvailability) => Value;
  /** A literal's value (known without an adapter). */
  literal?: Value;
  at: number;
}

interface Token {
  kind: 'op' | 'string' | 'number' | 'ident' | 'end';
  text: string;
  value?: string | number;
  at: number;
}

/** A refusal that names the selector's field, the position (0-based character) and what to do. */
export class SelectorError extends Error {
  constructor(
    readonly position: number,
    readonly problem: string,
  ) {
    super(`at character ${position}: ${problem}`);
  }
}

const OPERATORS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '!', '(', ')', '[', ']', ',', '.'];

function lex(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const at = i;
    if (c === '"' || c === "'") {
      let text = '';
      i++;
      while (i < source.length && source[i] !== c) {
        if (source[i] === '\\') {
          const next = source[i + 1];
          if (next !== '\\' && next !== '"' && next !== "'")
            throw new SelectorError(i, 'only \\\\, \\" and \\\' escapes are allowed in a string');
          text += next;
          i += 2;
        } else text += source[i++];
      }
      if (i >= source.length) throw new SelectorError(at, 'string not closed: add the closing quote');
      i++;
      tokens.push({ kind: 'string', text: source.slice(at, i), value: text, at });
      continue;
    }
    if (c >= '0' && c <= '9') {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(source.slice(i))!;
      const value = Number(m[0]);
      if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value)))
        throw new SelectorError(at, `number ${m[0]} is beyond 2^53: use a smaller one`);
      i += m[0].length;
      tokens.push({ kind: 'number', text: m[0], value, at });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))!;
      i += m[0].length;
      tokens.push({ kind: 'ident', text: m[0], at });
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (!op) throw new SelectorError(at, `unexpected character '${c}'`);
    i += op.length;
    tokens.push({ kind: 'op', text: op, at });
  }
  tokens.push({ kind: 'end', text: 'the end', at: source.length });
  return tokens;
}

const shown = (t: Token) => (t.kind === 'end' ? 'the end of the selector' : `'${t.text}'`);

class Parser {
  private next = 0;
  private nodes = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.next]!;
  }

  private take(): Token {
    return this.tokens[this.next++]!;
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }

  private expect(text: string, what: string): Token {
    const t = this.take();
    if (t.kind !== 'op' || t.text !== text)
      throw new SelectorError(t.at, `expected ${what}, found ${shown(t)}`);
    return t;
  }

  private node(at: number): void {
    if (++this.nodes > MAX_SELECTOR_NODES)
      throw new SelectorError(at, `more than ${MAX_SELECTOR_NODES} nodes: split the selector or simplify it`);
  }

  private nested<T>(at: number, parse: () => T): T {
    if (++this.depth > MAX_SELECTOR_DEPTH)
      throw new SelectorError(at, `nested deeper than ${MAX_SELECTOR_DEPTH}: simplify the selector`);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  whole(): Typed {
    const e = this.or();
    const t = this.peek();
    if (t.kind !== 'end') throw new SelectorError(t.at, `expected && or || or the end, found ${shown(t)}`);
    need(e, 'bool', 'the selector must be true or false, e.g. zone == "z1"');
    return e;
  }

  private or(): Typed {
    let left = this.and();
    while (this.isOp('||')) {
      const op = this.take();
      this.node(op.at);
      const right = this.and();
      need(left, 'bool', '|| joins conditions');
      need(right, 'bool', '|| joins conditions');
      const [l, r] = [left.eval, right.eval];
      left = { type: 'bool', at: left.at, eval: (a) => (l(a) as boolean) || (r(a) as boolean) };
    }
    return left;
  }

  private and(): Typed {
    let left = this.unary();
    while (this.isOp('&&')) {
      const op = this.take();
      this.node(op.at);
      const right = this.unary();
      need(left, 'bool', '&& joins conditions');
      need(right, 'bool', '&& joins conditions');
      const [l, r] = [left.eval, right.eval];
      left = { type: 'bool', at: left.at, eval: (a) => (l(a) as boolean) && (r(a) as boolean) };
    }
    return left;
  }

  private unary(): Typed {
    if (!this.isOp('!')) return this.relation();
    const op = this.take();
    this.node(op.at);
    const inner = this.nested(op.at, () => this.unary());
    need(inner, 'bool', '! negates a condition');
    const f = inner.eval;
    return { type: 'bool', at: op.at, eval: (a) => !f(a) };
  }

  private relation(): Typed {
    const left = this.operand();
    const t = this.peek();
    const isIn = t.kind === 'ident' && t.text === 'in';
    const isCompare = t.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text);
    if (!isIn && !isCompare) return left;
    this.take();
    this.node(t.at);
    const right = this.operand();
    if (isIn) return membership(left, right, t.at);
    return comparison(t.text, left, right);
  }

  private operand(): Typed {
    const t = this.take();
    this.node(t.at);
    if (t.kind === 'op' && t.text === '(') {
      const inner = this.nested(t.at, () => this.or());
      this.expect(')', `')' to close the '(' at character ${t.at}`);
      return inner;
    }
    if (t.kind === 'op' && t.text === '[') return this.list(t);
    if (t.kind === 'string' || t.kind === 'number') return literal(t.value!, t.at);
    if (t.kind === 'ident' && (t.text === 'true' || t.text === 'false'))
      return literal(t.text === 'true', t.at);
    if (t.kind === 'ident') return this.attributeOrMethod(t);
    throw new SelectorError(t.at, `expected an attribute, a value or '(', found ${shown(t)}`);
  }

  private list(open: Token): Typed {
    const items: (string | number)[] = [];
    let type: Type | undefined;
    if (!this.isOp(']')) {
      for (;;) {
        const t = this.take();
        this.node(t.at);
        if (t.kind !== 'string' && t.kind !== 'number')
          throw new SelectorError(t.at, `a list holds strings or numbers, found ${shown(t)}`);
        const itemType = t.kind === 'string' ? 'string' : 'number';
        if (type && itemType !== type)
          throw new SelectorError(t.at, 'a list holds values of one type: all strings or all numbers');
        type = itemType;
        items.push(t.value!);
        if (!this.isOp(',')) break;
        this.take();
      }
    }
    this.expect(']', `',' or ']' to close the list opened at character ${open.at}`);
    const value = items as string[];
    return { type: 'list', at: open.at, literal: value, eval: () => value };
  }

  private attributeOrMethod(t: Token): Typed {
    const attribute = attributes[t.text];
    if (!attribute)
      throw new SelectorError(
        t.at,
        `unknown attribute '${t.text}' (attributes: ${attributeNames.join(', ')})`,
      );
    const read = attribute.read;
    const value: Typed = { type: attribute.type, at: t.at, eval: read };
    if (!this.isOp('.')) return value;
    this.take();
    const m = this.take();
    const methods = ['startsWith', 'endsWith', 'contains'];
    if (m.kind !== 'ident' || !methods.includes(m.text))
      throw new SelectorError(m.at, `expected one of ${methods.join(', ')} after '.', found ${shown(m)}`);
    this.node(m.at);
    need(value, 'string', `${m.text} applies to a string attribute`);
    this.expect('(', `'(' after ${m.text}`);
    const arg = this.take();
    if (arg.kind !== 'string')
      throw new SelectorError(arg.at, `${m.text} takes one string, found ${shown(arg)}`);
    this.expect(')', `')' after the argument of ${m.text}`);
    const s = arg.value as string;
    const test =
      m.text === 'startsWith'
        ? (x: string) => x.startsWith(s)
        : m.text === 'endsWith'
          ? (x: string) => x.endsWith(s)
          : (x: string) => x.includes(s);
    return { type: 'bool', at: t.at, eval: (a) => test(read(a) as string) };
  }
}

function literal(value: string | number | boolean, at: number): Typed {
  const type: Type = typeof value === 'string' ? 'string' : typeof value === 'number' ? 'number' : 'bool';
  return { type, at, literal: value, eval: () => value };
}

const article = (t: Type) =>
  ({ string: 'a string', number: 'a number', bool: 'true/false', list: 'a list' })[t];

function need(e: Typed, type: Type, why: string): void {
  if (e.type !== type)
    throw new SelectorError(e.at, `${why}: expected ${article(type)}, found ${article(e.type)}`);
}

function comparison(op: string, left: Typed, right: Typed): Typed {
  if (op === '==' || op === '!=') {
    if (left.type === 'list' || right.type === 'list')
      throw new SelectorError(
        left.at,
        `${op} compares two strings, numbers or booleans; for a list use 'in'`,
      );
    need(right, left.type, `${op} compares values of one type`);
  } else {
    need(left, 'number', `${op} compares numbers`);
    need(right, 'number', `${op} compares numbers`);
  }
  const [l, r] = [left.eval, right.eval];
  const test: (x: Value, y: Value) => boolean = {
    '==': (x: Value, y: Value) => x === y,
    '!=': (x: Value, y: Value) => x !== y,
    '<': (x: Value, y: Value) => x < y,
    '<=': (x: Value, y: Value) => x <= y,
    '>': (x: Value, y: Value) => x > y,
    '>=': (x: Value, y: Value) => x >= y,
  }[op]!;
  return { type: 'bool', at: left.at, eval: (a) => test(l(a), r(a)) };
}

function membership(item: Typed, list: Typed, at: number): Typed {
  need(list, 'list', '\'in\' looks in a list, e.g. zone in ["z1", "z2"] or "sha256" in functions');
  if (item.type !== 'string' && item.type !== 'number')
    throw new SelectorError(item.at, `'in' looks for a string or a number, found ${article(item.type)}`);
  if (list.literal !== undefined) {
    const items = list.literal as readonly (string | number)[];
    if (items.length > 0 && typeof items[0] !== item.type)
      throw new SelectorError(
        at,
        `'in' compares values of one type: the list holds ${article(typeof items[0] as Type)}s`,
      );
    const set = new Set(items);
    const i = item.eval;
    return { type: 'bool', at: item.at, eval: (a) => set.has(i(a) as string) };
  }
  need(item, 'string', "'in' over functions looks for a function name");
  const [i, l] = [item.eval, list.eval];
  return { type: 'bool', at: item.at, eval: (a) => (l(a) as readonly string[]).includes(i(a) as string) };
}

/** Compiles `source` or throws SelectorError (position and problem). */
export function compileSelector(source: string): Selector {
  if (source.length > MAX_SELECTOR_LENGTH)
    throw new SelectorError(MAX_SELECTOR_LENGTH, `longer than ${MAX_SELECTOR_LENGTH} characters`);
  const e = new Parser(lex(source)).whole();
  const f = e.eval;
  return (a) => f(a) as boolean;
}

/** Compiles the selector of `field` (e.g. "resources[0].selector"), or RvlError INVALID_REQUEST. */
export function selectorOf(source: string, field: string): Selector {
  try {
    return compileSelector(source);
  } catch (err) {
    if (!(err instanceof SelectorError)) throw err;
    throw selectorRefusal(err, source, field);
  }
}

function selectorRefusal(err: SelectorError, source: string, field: string): RvlError {
  // The source around the error, so a long selector's mistake can be found.
  const from = Math.max(0, err.position - 20);
  const near = source.slice(from, err.position + 20);
  return invalidRequest(`${field}: ${err.message} (near "${near}")`, {
    field,
    position: err.position,
    problem: err.problem,
  });
}
