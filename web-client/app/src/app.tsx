import { Provider } from '@urql/preact';
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import { identityKey, newClient, session } from './api';
import type { Role } from './auth/jwt';
import { useViewer } from './auth/useViewer';
import { Nav } from './components/Nav';
import { PageTitle } from './components/PageTitle';
import { Empty } from './components/Status';
import { useExternal } from './lib/store';
import { Confirm } from './pages/account/Confirm';
import { Profile } from './pages/account/Profile';
import { SignIn } from './pages/account/SignIn';
import { SignUp } from './pages/account/SignUp';
import { CartPage } from './pages/Cart';
import { Catalog } from './pages/Catalog';
import { Home } from './pages/Home';
import { OrderPage } from './pages/Order';
import { Orders } from './pages/Orders';
import { ProductPage } from './pages/Product';
import { SearchPage } from './pages/Search';
import { SellerPage } from './pages/Seller';
import { Console } from './pages/seller/Console';
import { Editor } from './pages/seller/Editor';
import { NewProduct } from './pages/seller/NewProduct';
import { Sales } from './pages/seller/Sales';
import { Link, match, useLocation } from './router';

type Params = Record<string, string>;
interface Route {
  path: string;
  view: (p: Params) => JSX.Element;
  /** Signed in, with this role when given. */
  needs?: Role | 'account';
}

const ROUTES: Route[] = [
  { path: '/', view: () => <Home /> },
  { path: '/catalog', view: () => <Catalog /> },
  { path: '/search', view: () => <SearchPage /> },
  { path: '/products/:id', view: (p) => <ProductPage key={p.id} id={p.id} /> },
  { path: '/sellers/:id', view: (p) => <SellerPage key={p.id} id={p.id} /> },
  { path: '/signup', view: () => <SignUp /> },
  { path: '/confirm', view: () => <Confirm /> },
  { path: '/signin', view: () => <SignIn /> },
  { path: '/profile', view: () => <Profile />, needs: 'account' },
  { path: '/cart', view: () => <CartPage /> },
  { path: '/orders', view: () => <Orders />, needs: 'account' },
  { path: '/orders/:id', view: (p) => <OrderPage key={p.id} id={p.id} />, needs: 'account' },
  { path: '/sell', view: () => <Console />, needs: 'SELLER' },
  { path: '/sell/new', view: () => <NewProduct />, needs: 'SELLER' },
  { path: '/sell/products/:id', view: (p) => <Editor key={p.id} id={p.id} />, needs: 'SELLER' },
  { path: '/sell/sales', view: () => <Sales />, needs: 'SELLER' },
];

export function App() {
  // A fresh cache for every identity: nothing one user read is shown to the next.
  const identity = useExternal(session, identityKey);
  const client = useMemo(newClient, [identity]);
  return (
    <Provider value={client}>
      <a class="skip" href="#main">Skip to content</a>
      <Nav />
      <main id="main">
        <Outlet />
      </main>
    </Provider>
  );
}

function Outlet() {
  const { path } = useLocation();
  const viewer = useViewer();
  for (const route of ROUTES) {
    const params = match(route.path, path);
    if (!params) continue;
    if (route.needs && !viewer) return <SignInFirst path={path} />;
    if (route.needs && route.needs !== 'account' && !viewer?.roles.includes(route.needs)) return <SellersOnly />;
    return route.view(params);
  }
  return (
    <>
      <PageTitle title="Not found">Page not found</PageTitle>
      <Empty>
        Nothing lives here. <Link href="/">Go home</Link>
      </Empty>
    </>
  );
}

function SignInFirst({ path }: { path: string }) {
  return (
    <>
      <PageTitle title="Sign in">Please sign in</PageTitle>
      <p>
        <Link href={`/signin?next=${encodeURIComponent(path)}`}>Sign in</Link> or{' '}
        <Link href="/signup">create an account</Link> to see this page.
      </p>
    </>
  );
}

function SellersOnly() {
  return (
    <>
      <PageTitle title="Sellers only">Sellers only</PageTitle>
      <p>
        This page is for sellers. You can <Link href="/profile">become a seller from your profile</Link>.
      </p>
    </>
  );
}
