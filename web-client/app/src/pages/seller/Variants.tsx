// The product's variants: edit SKU, name and price; set or adjust stock with a reason (each
// change is recorded in the stock ledger); add and remove variants.
import { useMutation } from '@urql/preact';
import { useState } from 'preact/hooks';
import {
  AddVariantMutation,
  AdjustStockMutation,
  RemoveVariantMutation,
  SetStockMutation,
  UpdateVariantMutation,
} from '../../api/ops/inventory';
import { Field, Select } from '../../components/Field';
import { ProblemNote } from '../../components/Status';
import { problemOf } from '../../lib/errors';
import { toMajor } from '../../lib/money';
import { emptyVariant, variantInput, type VariantDraft } from '../../seller/variantDraft';
import type { OnSaved, Product } from './Editor';
import { VariantFields } from './VariantFields';

type Variant = Product['variants'][number];

export function Variants({ product, onSaved }: { product: Product; onSaved: OnSaved }) {
  return (
    <section aria-labelledby="variants-h">
      <h2 id="variants-h">Variants and stock</h2>
      {product.variants.map((v) => (
        <VariantCard key={v.id} variant={v} removable={product.variants.length > 1} onSaved={onSaved} />
      ))}
      <AddVariant productId={product.id} onSaved={onSaved} />
    </section>
  );
}

function VariantCard({ variant, removable, onSaved }: { variant: Variant; removable: boolean; onSaved: OnSaved }) {
  const [draft, setDraft] = useState<VariantDraft>({ sku: variant.sku, name: variant.name, price: toMajor(variant.price), onHand: '' });
  const [state, update] = useMutation(UpdateVariantMutation);
  const [removed, remove] = useMutation(RemoveVariantMutation);
  const problem = problemOf(state.error ?? removed.error);

  const save = async (e: Event) => {
    e.preventDefault();
    const { sku, name, price } = variantInput(draft);
    const result = await update({ id: variant.id, input: { sku, name, price } });
    if (result.data) onSaved(result.data.updateVariant);
  };

  return (
    <article class="variant-card" aria-label={`Variant ${variant.name}`}>
      <form onSubmit={save}>
        <ProblemNote problem={problem} />
        <VariantFields legend={`${variant.name} (${variant.sku})`} value={draft} onChange={setDraft} prefix="input"
          errors={problem?.fields ?? {}} withStock={false} />
        <p class="actions">
          <button type="submit" disabled={state.fetching}>Save variant</button>
          {removable && (
            <button type="button" class="link" disabled={removed.fetching}
              onClick={async () => {
                const r = await remove({ id: variant.id });
                if (r.data) onSaved(r.data.removeVariant);
              }}>
              Remove variant
            </button>
          )}
        </p>
      </form>
      <p data-testid="stock">
        {variant.onHand} on hand · {variant.held} held by orders · <strong>{variant.available} available</strong>
      </p>
      <StockForm variant={variant} onSaved={onSaved} />
    </article>
  );
}

const MODES = [
  ['set', 'Set on hand to'],
  ['adjust', 'Adjust on hand by'],
] as const;

function StockForm({ variant, onSaved }: { variant: Variant; onSaved: OnSaved }) {
  const [mode, setMode] = useState('set');
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [setState, setStock] = useMutation(SetStockMutation);
  const [adjustState, adjustStock] = useMutation(AdjustStockMutation);
  const state = mode === 'set' ? setState : adjustState;
  const problem = problemOf(state.error);

  const submit = async (e: Event) => {
    e.preventDefault();
    const n = /^-?\d+$/.test(amount.trim()) ? Number(amount) : NaN;
    const result =
      mode === 'set'
        ? await setStock({ variantId: variant.id, onHand: n, reason })
        : await adjustStock({ variantId: variant.id, delta: n, reason });
    const product = result.data && ('setStock' in result.data ? result.data.setStock : result.data.adjustStock);
    if (!product) return;
    onSaved(product);
    setAmount('');
    setReason('');
  };

  return (
    <form class="stock" onSubmit={submit} aria-label={`Stock of ${variant.name}`}>
      <ProblemNote problem={problem} />
      <Select label="Change" value={mode} onValue={setMode} options={MODES} />
      <Field label="Units" required inputMode="numeric" value={amount} onValue={setAmount}
        error={problem?.fields['onHand'] ?? problem?.fields['delta']} />
      <Field label="Reason" required value={reason} onValue={setReason} error={problem?.fields['reason']} />
      <button type="submit" disabled={state.fetching}>Update stock</button>
    </form>
  );
}

function AddVariant({ productId, onSaved }: { productId: string; onSaved: OnSaved }) {
  const [draft, setDraft] = useState(emptyVariant());
  const [state, add] = useMutation(AddVariantMutation);
  const problem = problemOf(state.error);
  const submit = async (e: Event) => {
    e.preventDefault();
    const result = await add({ productId, input: variantInput(draft) });
    if (!result.data) return;
    onSaved(result.data.addVariant);
    setDraft(emptyVariant());
  };
  return (
    <form onSubmit={submit}>
      <ProblemNote problem={problem} />
      <VariantFields legend="New variant" value={draft} onChange={setDraft} prefix="input" errors={problem?.fields ?? {}} />
      <button type="submit" class="secondary" disabled={state.fetching}>Add variant</button>
    </form>
  );
}
