import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { configFromContext, DEFAULT_CONFIG } from '../lib/config';

const read = (context: Record<string, unknown>) => configFromContext(new App({ context }).node);

describe('configuration from context', () => {
  it('defaults to a Multi-AZ, one-NAT, HTTP, search-off deployment in eu-west-1', () => {
    expect(read({})).toEqual(DEFAULT_CONFIG);
  });

  it('reads command-line strings and cdk.json values alike', () => {
    const fromCli = read({ multiAz: 'false', natGateways: '2', imageUploadOrigins: 'https://a.example, https://b.example' });
    const fromJson = read({ multiAz: false, natGateways: 2, imageUploadOrigins: ['https://a.example', 'https://b.example'] });
    expect(fromCli).toEqual(fromJson);
    expect(fromCli.imageUploadOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it('refuses values that would deploy something broken', () => {
    expect(() => read({ multiAz: 'yes' })).toThrow(/multiAz/);
    expect(() => read({ natGateways: '0' })).toThrow(/natGateways/);
    expect(() => read({ apiDesiredCount: '0' })).toThrow(/apiDesiredCount/);
    expect(() => read({ opensearchUrl: 'https://search.example' })).toThrow(/opensearchDomainArn/);
  });
});
