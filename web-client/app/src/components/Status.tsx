// Loading, empty and error states, announced to assistive technology.
import type { ComponentChildren } from 'preact';
import type { Problem } from '../lib/errors';
import { Link } from '../router';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted" role="status">
      {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function ProblemNote({ problem, children }: { problem: Problem | null; children?: ComponentChildren }) {
  if (!problem) return null;
  return (
    <div class="problem" role="alert">
      <p>{problem.message}</p>
      {problem.code === 'UNAUTHENTICATED' && (
        <p>
          <Link href={`/signin?next=${encodeURIComponent(location.pathname)}`}>Sign in</Link>
        </p>
      )}
      {children}
    </div>
  );
}
