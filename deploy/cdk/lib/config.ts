import { Node } from 'constructs';

/**
 * Everything a deployment may choose. `cdk synth -c key=value` (or the `context` block of
 * cdk.json, or `new App({ context })` in tests) sets these; every field has a default, so a
 * bare `cdk synth` works offline with no account, no lookups and no extra input.
 */
export interface MercadoConfig {
  /**
   * The region the stacks are synthesized for. The account stays unresolved (the stacks
   * deploy to whatever account the credentials name); the region must be known because the
   * load balancer's access logs need the region's ELB log-delivery principal.
   */
  readonly region: string;
  /** Browser origins allowed to PUT images to the bucket with a presigned URL (its CORS rule). */
  readonly imageUploadOrigins: string[];
  /** RDS Multi-AZ standby. On by default; turn off only for throwaway environments. */
  readonly multiAz: boolean;
  /** RDS instance class, e.g. `t4g.small`. */
  readonly dbInstanceType: string;
  /** NAT gateways for the private subnets' egress (see service-stack.ts for why 1). */
  readonly natGateways: number;
  /** ACM certificate for an HTTPS listener on the ALB; without one the ALB listens on HTTP 80. */
  readonly certificateArn?: string;
  /** Tasks of the `api` group (behind the ALB). */
  readonly apiDesiredCount: number;
  /**
   * An Amazon OpenSearch Service endpoint (`https://…`). When set, every instance runs
   * `MERCADO_SEARCH=opensearch`: the api answers `search` from the shared index and the
   * workers feed it from the search queue. When unset, search is `off` (see service-stack.ts).
   */
  readonly opensearchUrl?: string;
  /** The domain's ARN, for the tasks' `es:ESHttp*` permissions. Required with `opensearchUrl`. */
  readonly opensearchDomainArn?: string;
  /** Put the Cognito user pool on the Plus feature plan (threat protection; billed per MAU). */
  readonly cognitoPlus: boolean;
  /**
   * What drives the purchase saga (MERCADO_SAGA_ENGINE): `runner` (PostgreSQL) or
   * `stepfunctions` (the Mercado-Saga state machine; the workers get its grants).
   */
  readonly sagaEngine: 'runner' | 'stepfunctions';
}

export const DEFAULT_CONFIG: MercadoConfig = {
  region: 'eu-west-1',
  // mercado's own default (MERCADO_IMAGE_UPLOAD_ORIGINS=*): the URL is presigned for one key,
  // type and length, so CORS only decides which pages may use a URL the API handed out.
  imageUploadOrigins: ['*'],
  multiAz: true,
  dbInstanceType: 't4g.small',
  natGateways: 1,
  apiDesiredCount: 2,
  cognitoPlus: false,
  sagaEngine: 'runner',
};

function sagaEngine(v: string): MercadoConfig['sagaEngine'] {
  if (v === 'runner' || v === 'stepfunctions') return v;
  throw new Error(`context sagaEngine: expected runner or stepfunctions, got ${v}`);
}

/** Reads the configuration from CDK context, falling back to DEFAULT_CONFIG field by field. */
export function configFromContext(node: Node): MercadoConfig {
  const str = (key: string): string | undefined => {
    const v: unknown = node.tryGetContext(key);
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  // Context from the command line arrives as strings ("false", "2"); from cdk.json or tests
  // as JSON values. Accept both.
  const bool = (key: string, fallback: boolean): boolean => {
    const v = str(key);
    if (v === undefined) return fallback;
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw new Error(`context ${key}: expected true or false, got ${v}`);
  };
  const int = (key: string, fallback: number): number => {
    const v = str(key);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`context ${key}: expected a whole number, got ${v}`);
    return n;
  };
  const list = (key: string, fallback: string[]): string[] => {
    const v: unknown = node.tryGetContext(key);
    if (v === undefined || v === null || v === '') return fallback;
    const items = Array.isArray(v) ? v.map(String) : String(v).split(',');
    return items.map((s) => s.trim()).filter((s) => s.length > 0);
  };

  const config: MercadoConfig = {
    region: str('region') ?? DEFAULT_CONFIG.region,
    imageUploadOrigins: list('imageUploadOrigins', DEFAULT_CONFIG.imageUploadOrigins),
    multiAz: bool('multiAz', DEFAULT_CONFIG.multiAz),
    dbInstanceType: str('dbInstanceType') ?? DEFAULT_CONFIG.dbInstanceType,
    natGateways: int('natGateways', DEFAULT_CONFIG.natGateways),
    certificateArn: str('certificateArn'),
    apiDesiredCount: int('apiDesiredCount', DEFAULT_CONFIG.apiDesiredCount),
    opensearchUrl: str('opensearchUrl'),
    opensearchDomainArn: str('opensearchDomainArn'),
    cognitoPlus: bool('cognitoPlus', DEFAULT_CONFIG.cognitoPlus),
    sagaEngine: sagaEngine(str('sagaEngine') ?? DEFAULT_CONFIG.sagaEngine),
  };
  if ((config.opensearchUrl === undefined) !== (config.opensearchDomainArn === undefined)) {
    throw new Error('context opensearchUrl and opensearchDomainArn go together: set both or neither');
  }
  if (config.natGateways < 1) {
    // The tasks reach AWS APIs and Cognito's JWKS through NAT; 0 would need interface
    // endpoints for every service they call, which this app does not create.
    throw new Error('context natGateways: at least 1');
  }
  if (config.apiDesiredCount < 1) {
    throw new Error('context apiDesiredCount: at least 1 (the ALB needs a target)');
  }
  if (config.imageUploadOrigins.length === 0) {
    throw new Error('context imageUploadOrigins: at least one origin');
  }
  return config;
}
