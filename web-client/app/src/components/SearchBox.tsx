// The search box in the header of every page: a plain GET form to /search (it works before the
// script runs too), which the app turns into a client-side navigation.
import { useEffect, useState } from 'preact/hooks';
import { createStore, useExternal } from '../lib/store';
import { navigate, useLocation } from '../router';
import { searchHref } from '../search/state';

/** The id of the message saying why the server refused the search text, while one shows. */
export const searchTextProblem = createStore<string | null>(null);

export function SearchBox() {
  const { path, query } = useLocation();
  // On the results page the box holds the search shown; elsewhere it keeps what was typed.
  const shown = path === '/search' ? (query.get('q') ?? '') : null;
  const [value, setValue] = useState(shown ?? '');
  useEffect(() => {
    if (shown !== null) setValue(shown);
  }, [shown]);
  const problemId = useExternal(searchTextProblem, searchTextProblem.get);

  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    // What the form holds now (autofill need not fire `input`). Only blanks are sent as they
    // are, so the server's own message says what is wrong.
    const text = String(new FormData(e.currentTarget as HTMLFormElement).get('q') ?? '');
    navigate(searchHref({ q: text.trim() || text }));
  };
  return (
    <form role="search" aria-label="Products" class="search-box" action="/search" method="get" onSubmit={submit}>
      <label for="search-text" class="visually-hidden">
        Search products
      </label>
      <input
        id="search-text"
        type="search"
        name="q"
        required
        autoComplete="off"
        enterKeyHint="search"
        placeholder="Search products"
        value={value}
        onInput={(e) => setValue(e.currentTarget.value)}
        aria-invalid={problemId ? true : undefined}
        aria-describedby={problemId ?? undefined}
      />
      <button type="submit">Search</button>
    </form>
  );
}
