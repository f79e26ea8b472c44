// The editor against a client whose transports answer from here: it reads with myProduct
// (carrying this tab's write token), and a null answer is "not found", with no subscription.
import { Provider } from '@urql/preact';
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../api/transport';
import { rememberWrite } from '../../seller/writes';
import { Editor } from './Editor';

const ID = '0b5f3c1e-8d7a-4f2b-9c61-3e0d2a7b4c55';

const product = {
  __typename: 'Product',
  id: ID,
  name: 'Jug',
  description: '',
  category: 'kitchen',
  status: 'DRAFT',
  imageUrl: null,
  version: 3,
  consistencyToken: 'tok-3',
  variants: [],
};

interface Seen {
  reads: { operationName: string | null; variables: Record<string, unknown> }[];
  subscriptions: string[];
}

function clientAnswering(myProduct: typeof product | null, seen: Seen) {
  const fetch: typeof globalThis.fetch = async (input) => {
    const url = new URL(String(input), 'http://localhost');
    seen.reads.push({
      operationName: url.searchParams.get('operationName'),
      variables: JSON.parse(url.searchParams.get('variables') ?? '{}'),
    });
    return new Response(JSON.stringify({ data: { myProduct } }), { headers: { 'Content-Type': 'application/json' } });
  };
  return createApiClient({
    url: 'http://localhost/graphql',
    fetch,
    subscribe: (request) => ({
      subscribe: () => {
        seen.subscriptions.push(request.query ?? '');
        return { unsubscribe() {} };
      },
    }),
  });
}

describe('the product editor', () => {
  let root: HTMLElement;
  let seen: Seen;
  beforeEach(() => {
    sessionStorage.clear();
    seen = { reads: [], subscriptions: [] };
    root = document.body.appendChild(document.createElement('div'));
  });
  afterEach(() => {
    act(() => render(null, root));
    root.remove();
  });

  const open = async (answer: typeof product | null) => {
    const client = clientAnswering(answer, seen);
    await act(async () => {
      render(
        <Provider value={client}>
          <Editor id={ID} />
        </Provider>,
        root,
      );
    });
    await act(() => new Promise((r) => setTimeout(r, 20)));
  };

  it('says the product is not found, links back to the console and follows nothing', async () => {
    await open(null);
    expect(root.querySelector('h1')!.textContent).toBe('Product not found');
    expect(root.querySelector('a[href="/sell"]')!.textContent).toBe('Back to your products');
    expect(seen.reads[0]).toEqual({ operationName: 'MyProduct', variables: { id: ID, consistency: null } });
    expect(seen.subscriptions).toEqual([]);
  });

  it('loads the product with the token of this tab’s last write, then follows it live', async () => {
    rememberWrite({ id: ID, consistencyToken: 'tok-3' });
    await open(product);
    expect(root.querySelector('h1')!.textContent).toBe('Jug');
    expect(root.querySelector('[data-testid=product-status]')!.textContent).toBe('draft');
    expect(seen.reads[0]?.variables).toEqual({ id: ID, consistency: ['tok-3'] });
    expect(seen.subscriptions).toHaveLength(1);
    expect(seen.subscriptions[0]).toContain('productChanged');
  });
});
