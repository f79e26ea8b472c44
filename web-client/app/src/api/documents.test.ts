// The trusted-documents manifest must hold, under the right hash, exactly the text the client
// sends: run every operation through a real client and compare what reaches the wire.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allOperations, operationKind, sha256Hex, trustedDocuments } from './documents';
import { createApiClient } from './transport';

type Sent = { hash?: string; text?: string };

/** A client whose transports record what they send. APQ misses once, like a fresh server. */
function recordingClient(sent: Sent[]) {
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(String(input), 'http://localhost');
    const body = init?.body ? JSON.parse(String(init.body)) : null;
    const text: string | undefined = body?.query ?? url.searchParams.get('query') ?? undefined;
    const ext = body?.extensions ?? JSON.parse(url.searchParams.get('extensions') ?? '{}');
    sent.push({ hash: ext.persistedQuery?.sha256Hash, text });
    const payload = text ? { data: null } : { errors: [{ message: 'PersistedQueryNotFound' }] };
    return new Response(JSON.stringify(payload), { headers: { 'Content-Type': 'application/json' } });
  };
  return createApiClient({
    url: 'http://localhost/graphql',
    fetch,
    subscribe: (request) => ({
      subscribe: (sink) => {
        sent.push({ text: request.query });
        sink.complete();
        return { unsubscribe() {} };
      },
    }),
  });
}

async function send(doc: ReturnType<typeof allOperations>[number]): Promise<Sent[]> {
  const sent: Sent[] = [];
  const client = recordingClient(sent);
  const kind = operationKind(doc)!;
  const source =
    kind === 'query' ? client.query(doc, {}) : kind === 'mutation' ? client.mutation(doc, {}) : client.subscription(doc, {});
  await new Promise<void>((resolve) => {
    const { unsubscribe } = source.subscribe(() => {});
    setTimeout(() => (unsubscribe(), resolve()), 50);
  });
  return sent;
}

describe('trusted documents manifest', async () => {
  const manifest = await trustedDocuments();

  it('lists every operation once', () => {
    expect(Object.keys(manifest)).toHaveLength(allOperations().length);
  });

  for (const doc of allOperations()) {
    const kind = operationKind(doc);
    it(`holds what the client sends for ${kind} ${doc.definitions[0]?.kind === 'OperationDefinition' && doc.definitions[0].name?.value}`, async () => {
      const sent = await send(doc);
      const full = sent.find((s) => s.text);
      expect(full?.text).toBeTruthy();
      const hash = await sha256Hex(full!.text!);
      expect(manifest[hash]).toBe(full!.text);
      // Queries go first by hash alone (APQ): that hash is the manifest's key too.
      if (kind === 'query') expect(sent[0]).toEqual({ hash, text: undefined });
    });
  }

  const built = resolve(import.meta.dirname, '../../dist/trusted-documents.json');
  it.skipIf(!existsSync(built))('is what the build wrote', () => {
    expect(JSON.parse(readFileSync(built, 'utf8'))).toEqual(manifest);
  });
});
