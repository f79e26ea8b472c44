import { useMutation } from '@urql/preact';
import { session } from '../api';
import { SignOutMutation } from '../api/ops/account';
import { useViewer } from '../auth/useViewer';
import { cart } from '../cart';
import { useExternal } from '../lib/store';
import { Link, navigate, useLocation } from '../router';
import { SearchBox } from './SearchBox';

export function Nav() {
  const viewer = useViewer();
  const count = useExternal(cart.store, cart.count);
  const { path } = useLocation();
  const [, signOut] = useMutation(SignOutMutation);
  const current = (href: string) => (path === href || (href !== '/' && path.startsWith(`${href}/`)) ? 'page' : undefined);
  const item = (href: string, label: string) => (
    <li>
      <Link href={href} aria-current={current(href)}>
        {label}
      </Link>
    </li>
  );

  const leave = async () => {
    // Revoke the refresh token server-side, then forget the session whatever the answer.
    await signOut({ refreshToken: session.tokens()?.refreshToken ?? null });
    session.clear();
    navigate('/');
  };

  return (
    <header class="top">
      <Link href="/" class="brand">mercado</Link>
      <SearchBox />
      <nav aria-label="Main">
        <ul>
          {item('/catalog', 'Catalog')}
          {item('/cart', count ? `Cart (${count})` : 'Cart')}
          {viewer && item('/orders', 'Orders')}
          {viewer?.roles.includes('SELLER') && item('/sell', 'Sell')}
          {viewer && item('/profile', 'Profile')}
          {!viewer && item('/signin', 'Sign in')}
          {!viewer && item('/signup', 'Sign up')}
          {viewer && (
            <li>
              <button type="button" class="link" onClick={leave}>Sign out</button>
            </li>
          )}
        </ul>
      </nav>
    </header>
  );
}
