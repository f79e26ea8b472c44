import { useMutation } from '@urql/preact';
import { useState } from 'preact/hooks';
import { CreateProductMutation } from '../../api/ops/inventory';
import { Field, Select, TextArea } from '../../components/Field';
import { PageTitle } from '../../components/PageTitle';
import { ProblemNote } from '../../components/Status';
import { problemOf } from '../../lib/errors';
import { navigate } from '../../router';
import { emptyVariant, variantInput } from '../../seller/variantDraft';
import { rememberWrite } from '../../seller/writes';
import { VariantFields } from './VariantFields';

const STATUSES = [
  ['ACTIVE', 'Active: listed at once'],
  ['DRAFT', 'Draft: hidden until published'],
] as const;

export function NewProduct() {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [category, setCategory] = useState('');
  const [status, setStatus] = useState<'ACTIVE' | 'DRAFT'>('ACTIVE');
  const [variants, setVariants] = useState([emptyVariant()]);
  const [state, create] = useMutation(CreateProductMutation);
  const problem = problemOf(state.error);
  const errors = problem?.fields ?? {};

  const submit = async (e: Event) => {
    e.preventDefault();
    const result = await create({
      input: { name, description: description || null, category, status, variants: variants.map(variantInput) },
    });
    if (!result.data) return;
    rememberWrite(result.data.createProduct);
    navigate(`/sell/products/${result.data.createProduct.id}`);
  };

  return (
    <form onSubmit={submit}>
      <PageTitle title="New product">New product</PageTitle>
      <ProblemNote problem={problem} />
      <Field label="Name" required value={name} onValue={setName} error={errors['input.name']} />
      <TextArea label="Description" value={description} onValue={setDescription} error={errors['input.description']} />
      <Field label="Category" required value={category} onValue={setCategory} error={errors['input.category']} />
      <Select label="Status" value={status} onValue={(v) => setStatus(v as 'ACTIVE' | 'DRAFT')} options={STATUSES} />
      {variants.map((v, i) => (
        <div key={i}>
          <VariantFields legend={`Variant ${i + 1}`} value={v} prefix={`input.variants.${i}`} errors={errors}
            onChange={(next) => setVariants(variants.map((old, j) => (j === i ? next : old)))} />
          {variants.length > 1 && (
            <button type="button" class="link" onClick={() => setVariants(variants.filter((_, j) => j !== i))}>
              Remove variant {i + 1}
            </button>
          )}
        </div>
      ))}
      <p class="actions">
        <button type="button" class="secondary" onClick={() => setVariants([...variants, emptyVariant()])}>
          Add a variant
        </button>
        <button type="submit" disabled={state.fetching}>Create product</button>
      </p>
    </form>
  );
}
