// gql.tada's typed `graphql()`: every document's result and variables are inferred from the
// schema (../../schema/mercado.graphql, introspected into graphql-env.d.ts by `npm run check`).
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from '../graphql-env.d.ts';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; JSON: Record<string, unknown>; ID: string };
  // Fragments are plain type composition here; masking would only add readFragment() noise.
  disableMasking: true;
}>();

export type { ResultOf, VariablesOf } from 'gql.tada';
