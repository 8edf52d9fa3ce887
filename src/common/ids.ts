// Identifiers every layer shares: how an adapter is named across the pool. An adapter id is
// `<server>/ra<fabric port>` (ra-spec §1: the fabric port is the adapter's number on the fabric);
// the server part may itself contain '/', so it is everything before the last one.

/** The id of the adapter on fabric port `fabricPort` of `server`. */
export function adapterId(server: string, fabricPort: number): string {
  return `${server}/ra${fabricPort}`;
}

/** The server and fabric port an adapter id names; undefined when it is not an adapter id. */
export function parseAdapterId(id: string): { server: string; fabricPort: number } | undefined {
  const slash = id.lastIndexOf('/');
  const match = /^ra(0|[1-9][0-9]*)$/.exec(id.slice(slash + 1));
  if (slash <= 0 || !match) return undefined;
  return { server: id.slice(0, slash), fabricPort: Number(match[1]) };
}

/** The server of an adapter id (the whole id when it is not one, so a lookup by it simply misses). */
export function serverOf(id: string): string {
  return parseAdapterId(id)?.server ?? id;
}
