// The signed-in user's profile: display name and shipping address, favourite categories, and
// for sellers the store's public information. Buyers can become sellers here.
import { useMutation, useQuery } from '@urql/preact';
import { useState } from 'preact/hooks';
import { session } from '../../api';
import type { ResultOf } from '../../api/graphql';
import {
  BecomeSellerMutation,
  MeQuery,
  UpdateMerchantMutation,
  UpdatePreferencesMutation,
  UpdateProfileMutation,
} from '../../api/ops/account';
import { Field, TextArea } from '../../components/Field';
import { PageTitle } from '../../components/PageTitle';
import { Loading, ProblemNote } from '../../components/Status';
import { problemOf } from '../../lib/errors';
import { AddressFields, addressInput, draftOf, isBlank } from './AddressFields';

type Me = ResultOf<typeof MeQuery>['me'];

export function Profile() {
  const [{ data, fetching, error }] = useQuery({ query: MeQuery });
  if (!data) return fetching ? <Loading what="Loading your profile" /> : <ProblemNote problem={problemOf(error)} />;
  const me = data.me;
  return (
    <>
      <PageTitle title="Your profile">Your profile</PageTitle>
      <p class="muted">Signed in as {me.email ?? me.id}</p>
      <ProfileForm me={me} />
      <PreferencesForm me={me} />
      {me.roles.includes('SELLER') ? <MerchantForm me={me} /> : <BecomeSeller />}
    </>
  );
}

function Saved({ when }: { when: boolean }) {
  return when ? <p role="status">Saved.</p> : null;
}

function ProfileForm({ me }: { me: Me }) {
  const [displayName, setDisplayName] = useState(me.profile.displayName ?? '');
  const [address, setAddress] = useState(draftOf(me.profile.shippingAddress));
  const [state, save] = useMutation(UpdateProfileMutation);
  const problem = problemOf(state.error);
  const submit = (e: Event) => {
    e.preventDefault();
    save({
      input: {
        displayName: displayName.trim() || null,
        shippingAddress: isBlank(address) ? null : addressInput(address),
      },
    });
  };
  return (
    <form onSubmit={submit} aria-labelledby="profile-h">
      <h2 id="profile-h">Name and address</h2>
      <ProblemNote problem={problem} />
      <Field label="Display name" value={displayName} onValue={setDisplayName} error={problem?.fields['input.displayName']} />
      <AddressFields legend="Default shipping address" value={address} onChange={setAddress}
        prefix="input.shippingAddress" errors={problem?.fields ?? {}} />
      <button type="submit" disabled={state.fetching}>Save name and address</button>
      <Saved when={!!state.data && !state.fetching} />
    </form>
  );
}

function PreferencesForm({ me }: { me: Me }) {
  const [categories, setCategories] = useState(me.profile.preferences.favoriteCategories.join(', '));
  const [state, save] = useMutation(UpdatePreferencesMutation);
  const problem = problemOf(state.error);
  const submit = (e: Event) => {
    e.preventDefault();
    const favoriteCategories = categories.split(',').map((c) => c.trim()).filter(Boolean);
    save({ input: { favoriteCategories } });
  };
  return (
    <form onSubmit={submit} aria-labelledby="prefs-h">
      <h2 id="prefs-h">Favourite categories</h2>
      <ProblemNote problem={problem} />
      <Field label="Categories, separated by commas" value={categories} onValue={setCategories}
        error={firstFieldError(problem?.fields, 'input.favoriteCategories')}
        hint="Recommendations show these first." />
      <button type="submit" disabled={state.fetching}>Save categories</button>
      <Saved when={!!state.data && !state.fetching} />
    </form>
  );
}

function MerchantForm({ me }: { me: Me }) {
  const [storeName, setStoreName] = useState(me.profile.merchant?.storeName ?? '');
  const [description, setDescription] = useState(me.profile.merchant?.description ?? '');
  const [state, save] = useMutation(UpdateMerchantMutation);
  const problem = problemOf(state.error);
  const submit = (e: Event) => {
    e.preventDefault();
    save({ input: { storeName, description: description.trim() || null } });
  };
  return (
    <form onSubmit={submit} aria-labelledby="store-h">
      <h2 id="store-h">Your store</h2>
      <ProblemNote problem={problem} />
      <Field label="Store name" required value={storeName} onValue={setStoreName} error={problem?.fields['input.storeName']} />
      <TextArea label="Store description" value={description} onValue={setDescription} error={problem?.fields['input.description']} />
      <button type="submit" disabled={state.fetching}>Save store</button>
      <Saved when={!!state.data && !state.fetching} />
    </form>
  );
}

function BecomeSeller() {
  const [state, become] = useMutation(BecomeSellerMutation);
  const [refreshing, setRefreshing] = useState(false);
  const run = async () => {
    const result = await become({});
    const token = session.tokens()?.accessToken;
    if (!result.data || !token) return;
    // The role is granted now, but only a new token carries it.
    setRefreshing(true);
    await session.refresh(token);
    setRefreshing(false);
  };
  return (
    <section aria-labelledby="sell-h">
      <h2 id="sell-h">Sell on mercado</h2>
      <ProblemNote problem={problemOf(state.error)} />
      <button type="button" onClick={run} disabled={state.fetching || refreshing}>
        Become a seller
      </button>
    </section>
  );
}

/** The message for `path` or any of its items (`path.0`, `path.1`…). */
function firstFieldError(fields: Record<string, string> | undefined, path: string): string | undefined {
  if (!fields) return undefined;
  const key = Object.keys(fields).find((k) => k === path || k.startsWith(`${path}.`));
  return key ? fields[key] : undefined;
}
