/** Where to go after signing in: the page that sent the user to /login, kept in `?next=`. */

/** `/login?next=<the page asked for>`; the page asked for is a path of this site with its query. */
export function loginPathFor(location: { pathname: string; search: string }): string {
  const here = `${location.pathname}${location.search}`;
  return here === "/" || location.pathname === "/login" ? "/login" : `/login?next=${encodeURIComponent(here)}`;
}

/** The `next` parameter if it is a path on this site (never another origin, never /login itself). */
export function safeReturnPath(next: string | null): string | null {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return null;
  if (next === "/login" || next.startsWith("/login?")) return null;
  return next;
}
