// The exact text the client sends for each operation, and the trusted-documents manifest built
// from it. urql's cacheExchange adds `__typename` to queries and mutations before they are
// printed (and, for queries, hashed for APQ); subscriptions skip that exchange.
import { formatDocument, stringifyDocument } from '@urql/core';
import type { DocumentNode, OperationDefinitionNode } from '@0no-co/graphql.web';

export function operationKind(doc: DocumentNode): OperationDefinitionNode['operation'] | null {
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  return op ? op.operation : null;
}

export function sentText(doc: DocumentNode): string {
  return stringifyDocument(operationKind(doc) === 'subscription' ? doc : formatDocument(doc));
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Every operation exported by the modules in ./ops (fragments are skipped). */
export function allOperations(): DocumentNode[] {
  const modules = import.meta.glob<Record<string, unknown>>('./ops/*.ts', { eager: true });
  return Object.values(modules)
    .flatMap((mod) => Object.values(mod))
    .filter((v): v is DocumentNode => isDocument(v) && operationKind(v) !== null);
}

function isDocument(v: unknown): v is DocumentNode {
  return typeof v === 'object' && v !== null && (v as DocumentNode).kind === 'Document';
}

/** `{ "<sha256 hex>": "<document>" }`, the format of MERCADO_GRAPHQL_TRUSTED_DOCUMENTS. */
export async function trustedDocuments(): Promise<Record<string, string>> {
  const entries = await Promise.all(
    allOperations().map(async (doc) => {
      const text = sentText(doc);
      return [await sha256Hex(text), text] as const;
    }),
  );
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}
