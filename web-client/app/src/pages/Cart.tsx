// The cart and its checkout. placeOrder is sent with the attempt's idempotency key (see
// cart.attemptKey): however often the button is pressed for the same order, one order exists.
import { useMutation, useQuery } from '@urql/preact';
import { useState } from 'preact/hooks';
import { MeQuery } from '../api/ops/account';
import { PlaceOrderMutation } from '../api/ops/orders';
import { useViewer } from '../auth/useViewer';
import { cart } from '../cart';
import type { CartLine } from '../cart/cart';
import { Select } from '../components/Field';
import { PageTitle } from '../components/PageTitle';
import { Empty, ProblemNote } from '../components/Status';
import { useExternal } from '../lib/store';
import { problemOf } from '../lib/errors';
import { formatMoney } from '../lib/money';
import { Link, navigate } from '../router';
import { AddressFields, addressInput, EMPTY_ADDRESS, type AddressDraft } from './account/AddressFields';

const PAYMENT_TOKENS = [
  ['tok_approve', 'Test card: approved'],
  ['tok_decline', 'Test card: declined'],
  ['tok_transient', 'Test card: fails twice, then approved'],
] as const;

export function CartPage() {
  const lines = useExternal(cart.store, cart.lines);
  return (
    <>
      <PageTitle title="Your cart">Your cart</PageTitle>
      {lines.length ? (
        <>
          <CartLines lines={lines} />
          <Checkout lines={lines} />
        </>
      ) : (
        <Empty>
          Your cart is empty. <Link href="/catalog">Browse the catalog</Link>
        </Empty>
      )}
    </>
  );
}

function CartLines({ lines }: { lines: CartLine[] }) {
  const currency = lines[0].unitPrice.currency;
  const total = lines.reduce((sum, l) => sum + l.unitPrice.amount * l.quantity, 0);
  return (
    <table class="lines">
      <caption class="visually-hidden">Items in your cart</caption>
      <thead>
        <tr>
          <th scope="col">Item</th>
          <th scope="col">Quantity</th>
          <th scope="col">Price</th>
          <th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        {lines.map((l) => (
          <tr key={l.variantId}>
            <td>
              <Link href={`/products/${l.productId}`}>{l.productName}</Link> <span class="muted">{l.variantName}</span>
            </td>
            <td>
              <input type="number" min={1} max={1000} value={l.quantity} aria-label={`Quantity of ${l.productName} ${l.variantName}`}
                onChange={(e) => {
                  const q = Number(e.currentTarget.value);
                  if (Number.isInteger(q) && q >= 1) cart.setQuantity(l.variantId, q);
                }} />
            </td>
            <td>{formatMoney({ amount: l.unitPrice.amount * l.quantity, currency: l.unitPrice.currency })}</td>
            <td>
              <button type="button" class="link" onClick={() => cart.remove(l.variantId)}>
                Remove<span class="visually-hidden"> {l.productName}</span>
              </button>
            </td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row" colSpan={2}>Total</th>
          <td colSpan={2}>{formatMoney({ amount: total, currency })}</td>
        </tr>
      </tfoot>
    </table>
  );
}

function Checkout({ lines }: { lines: CartLine[] }) {
  const viewer = useViewer();
  if (!viewer) {
    return (
      <p>
        <Link href="/signin?next=/cart">Sign in</Link> to check out.
      </p>
    );
  }
  return <CheckoutForm lines={lines} />;
}

function CheckoutForm({ lines }: { lines: CartLine[] }) {
  // Until the profile is known, "no saved address" cannot be told from "not loaded yet": an
  // order sent meanwhile would carry an empty address instead of the saved one.
  const [{ data: me, fetching: loadingProfile }] = useQuery({ query: MeQuery });
  const saved = me?.me.profile.shippingAddress;
  const [useSaved, setUseSaved] = useState(true);
  const [address, setAddress] = useState<AddressDraft>(EMPTY_ADDRESS);
  const [paymentToken, setPaymentToken] = useState('tok_approve');
  const [state, placeOrder] = useMutation(PlaceOrderMutation);
  const problem = problemOf(state.error);
  const lineProblems = Object.entries(problem?.fields ?? {}).filter(([field]) => field.startsWith('input.items'));

  const submit = async (e: Event) => {
    e.preventDefault();
    const order = {
      items: lines.map((l) => ({ variantId: l.variantId, quantity: l.quantity })),
      paymentToken,
      // Without one, the server ships to the profile address.
      shippingAddress: saved && useSaved ? null : addressInput(address),
    };
    const idempotencyKey = cart.attemptKey(JSON.stringify(order));
    const result = await placeOrder({ input: { ...order, idempotencyKey } });
    if (!result.data) return;
    cart.clear();
    navigate(`/orders/${result.data.placeOrder.id}`);
  };

  return (
    <form onSubmit={submit} aria-labelledby="checkout-h">
      <h2 id="checkout-h">Checkout</h2>
      <ProblemNote problem={problem} />
      {lineProblems.map(([field, message]) => (
        <p key={field} class="error">
          {lineLabel(field, lines)}: {message}
        </p>
      ))}
      {saved && (
        <fieldset>
          <legend>Ship to</legend>
          <label class="check">
            <input type="radio" name="ship" checked={useSaved} onChange={() => setUseSaved(true)} />
            {saved.name}, {saved.line1}, {saved.postalCode} {saved.city}, {saved.country}
          </label>
          <label class="check">
            <input type="radio" name="ship" checked={!useSaved} onChange={() => setUseSaved(false)} /> Another address
          </label>
        </fieldset>
      )}
      {(!saved || !useSaved) && me && (
        <AddressFields legend="Shipping address" value={address} onChange={setAddress} prefix="input.shippingAddress"
          errors={problem?.fields ?? {}} />
      )}
      <Select label="Payment (development)" value={paymentToken} onValue={setPaymentToken} options={PAYMENT_TOKENS} />
      <button type="submit" disabled={state.fetching || (loadingProfile && !me)}>
        {state.fetching ? 'Placing order…' : 'Place order'}
      </button>
    </form>
  );
}

/** `input.items.1.variantId` → the cart line's name. */
function lineLabel(field: string, lines: CartLine[]): string {
  const line = lines[Number(field.split('.')[2])];
  return line ? `${line.productName} (${line.variantName})` : 'Your cart';
}
