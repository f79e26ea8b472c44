import type { ResultOf } from '../api/graphql';
import type { AddressFields } from '../api/ops/orders';

export function Address({ address: a }: { address: ResultOf<typeof AddressFields> }) {
  return (
    <address>
      {a.name}
      <br />
      {a.line1}
      {a.line2 && (
        <>
          <br />
          {a.line2}
        </>
      )}
      <br />
      {a.postalCode} {a.city}, {a.country}
    </address>
  );
}
