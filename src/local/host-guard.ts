/**
 * Which `Host` headers local mode answers. A web page can make a browser send requests to
 * 127.0.0.1:8123 under a name the attacker controls (DNS rebinding); such a request carries that name
 * in `Host`, so answering only loopback names and the names the operator configured closes the door.
 */

/** The host name of a `Host` header value (`name`, `name:port`, `[v6]`, `[v6]:port`), lowercased. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end === -1 ? value : value.slice(1, end);
  }
  const colon = value.lastIndexOf(':');
  // More than one colon without brackets is a bare IPv6 address.
  if (colon !== -1 && value.indexOf(':') === colon) return value.slice(0, colon);
  return value;
}

function isLoopback(name: string): boolean {
  return name === 'localhost' || name === '::1' || /^127(?:\.\d{1,3}){3}$/.test(name);
}

/**
 * A `Host` check that accepts loopback names (`localhost`, `127.0.0.0/8`, `::1`), the address the
 * server listens on unless it is a wildcard, and `extra` names.
 */
export function localHostGuard(listenHost: string, extra: readonly string[] = []): (host: string) => boolean {
  const allowed = new Set(extra.map(hostName));
  const listen = hostName(listenHost);
  if (listen !== '0.0.0.0' && listen !== '::') allowed.add(listen);
  return (host) => {
    const name = hostName(host);
    return isLoopback(name) || allowed.has(name);
  };
}
