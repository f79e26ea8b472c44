import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { navigate } from '../router';
import { SearchBox, searchTextProblem } from './SearchBox';

describe('the search box', () => {
  let root: HTMLElement;
  beforeEach(() => {
    navigate('/');
    root = document.body.appendChild(document.createElement('div'));
    act(() => render(<SearchBox />, root));
  });
  afterEach(() => {
    act(() => render(null, root));
    root.remove();
  });

  const input = () => root.querySelector<HTMLInputElement>('input[type=search]')!;
  const search = (text: string) =>
    act(() => {
      input().value = text;
      input().dispatchEvent(new Event('input', { bubbles: true }));
      root.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });

  it('is a labelled search landmark', () => {
    expect(root.querySelector('form')!.getAttribute('role')).toBe('search');
    expect(root.querySelector('form')!.getAttribute('aria-label')).toBe('Products');
    expect(root.querySelector(`label[for="${input().id}"]`)!.textContent).toBe('Search products');
  });

  it('goes to the results of the trimmed text', () => {
    search('  blue lamp ');
    expect(location.pathname + location.search).toBe('/search?q=blue+lamp');
  });

  it('sends blanks as they are, for the server to explain', () => {
    search('   ');
    expect(location.search).toBe('?q=+++');
  });

  it('shows the search of the results page, and keeps it elsewhere', () => {
    act(() => navigate('/search?q=kettle&sort=NEWEST'));
    expect(input().value).toBe('kettle');
    act(() => navigate('/catalog'));
    expect(input().value).toBe('kettle');
  });

  it('points at the reason the server refused the text', () => {
    act(() => searchTextProblem.set('why'));
    expect(input().getAttribute('aria-invalid')).toBe('true');
    expect(input().getAttribute('aria-describedby')).toBe('why');
    act(() => searchTextProblem.set(null));
    expect(input().hasAttribute('aria-invalid')).toBe(false);
  });
});
