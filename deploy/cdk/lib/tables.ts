import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/**
 * Key and index names, exactly as `mercado provision` creates them
 * (src/adapters/provision/tables.rs, constants in src/adapters/dynamo/mod.rs and
 * src/adapters/dynamo/profiles.rs). The server builds its queries from the same names, so a
 * change here must be a change there.
 */
export const CATALOG_KEY = 'id';
export const CATALOG_INDEXES = [
  // products(filter: {category})
  { indexName: 'by_category', partitionKey: 'category', sortKey: 'listed_sort' },
  // products without a filter (`listing` = LISTED on every ACTIVE item)
  { indexName: 'by_listing', partitionKey: 'listing', sortKey: 'listed_sort' },
  // myProducts, and products(filter: {sellerId}) with a status filter
  { indexName: 'by_seller', partitionKey: 'seller_id', sortKey: 'created_sort' },
] as const;
export const PROFILES_KEY = 'user_id';

/** The DynamoDB read model: the catalog (with its browsing indexes) and the profiles. */
export class ReadModelTables extends Construct {
  readonly catalog: dynamodb.Table;
  readonly profiles: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    // Both tables: on-demand like provision, point-in-time recovery, AWS-managed encryption,
    // and RETAIN. The catalog can be rebuilt from PostgreSQL (`mercado reconcile` refills an
    // empty table) but profiles live only here, and neither should vanish with a stack.
    const common = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    };

    this.catalog = new dynamodb.Table(this, 'Catalog', {
      ...common,
      partitionKey: { name: CATALOG_KEY, type: dynamodb.AttributeType.STRING },
    });
    for (const index of CATALOG_INDEXES) {
      // Sparse by design: only ACTIVE items carry the index attributes, and the reader needs
      // whole documents from a query, hence projection ALL (as provision sets it).
      this.catalog.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    this.profiles = new dynamodb.Table(this, 'Profiles', {
      ...common,
      partitionKey: { name: PROFILES_KEY, type: dynamodb.AttributeType.STRING },
    });
  }
}
