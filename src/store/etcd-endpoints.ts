// etcd endpoints as the store and the command line take them: `http://HOST:PORT` client URLs. Apart
// from the store so that a command can check its --etcd flag before anything starts, without loading
// the etcd client.
import { StoreCode, StoreError } from './errors.js';

/** `http://HOST:PORT` URLs (TLS to etcd is not supported yet: refused with a clear message). */
export function checkEtcdEndpoints(endpoints: unknown): string[] {
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new StoreError(
      StoreCode.INVALID_ARGUMENT,
      'give at least one etcd endpoint, e.g. http://127.0.0.1:2379',
    );
  }
  for (const endpoint of endpoints) {
    const url = URL.canParse(String(endpoint)) ? new URL(String(endpoint)) : undefined;
    if (url?.protocol !== 'http:' || url.port === '' || url.pathname !== '/') {
      throw new StoreError(
        StoreCode.INVALID_ARGUMENT,
        `etcd endpoint ${JSON.stringify(endpoint)} must be http://HOST:PORT (TLS to etcd is not supported yet)`,
      );
    }
  }
  return endpoints.map(String);
}
