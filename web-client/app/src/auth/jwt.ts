export type Role = 'BUYER' | 'SELLER';

export interface Viewer {
  id: string;
  email: string | null;
  roles: Role[];
}

/** Reads (never verifies: the server does) who an access token names and what it grants. */
export function viewerOf(accessToken: string): Viewer | null {
  try {
    const part = accessToken.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
    // Local issuer: `roles`; Cognito: `cognito:groups`. Either an array or space-separated.
    const raw: unknown = claims.roles ?? claims['cognito:groups'] ?? [];
    const list = Array.isArray(raw) ? raw : String(raw).split(' ');
    const roles = list
      .map((r) => String(r).toUpperCase())
      .filter((r): r is Role => r === 'BUYER' || r === 'SELLER');
    return { id: String(claims.sub), email: claims.email ?? null, roles };
  } catch {
    return null;
  }
}
