import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { synthMercado } from './helpers';

/**
 * cdk-nag's AWS Solutions pack runs over every stack (lib/app.ts adds it, as `cdk synth`
 * does). A finding is either fixed or suppressed with a reason where it is accepted; these
 * tests fail on any other.
 */
const variants: Record<string, Record<string, unknown>> = {
  default: {},
  // Every optional branch: single-AZ database, HTTPS listener, OpenSearch grants, Plus plan.
  'all options': {
    multiAz: 'false',
    certificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/abc',
    opensearchUrl: 'https://search-mercado.eu-west-1.es.amazonaws.com',
    opensearchDomainArn: 'arn:aws:es:eu-west-1:111111111111:domain/mercado',
    cognitoPlus: 'true',
    natGateways: '2',
  },
};

/**
 * Unsuppressed AwsSolutions findings of one level on a stack. With cdk.json's
 * `@aws-cdk/core:annotationsInValidationReport`, error annotations also fail synthesis (as
 * they fail `cdk synth`): then the thrown validation report is the list of findings.
 */
function nagFindings(stack: Stack, level: 'error' | 'warning'): string[] {
  const pattern = Match.stringLikeRegexp('AwsSolutions-.*');
  try {
    const annotations = Annotations.fromStack(stack);
    const found = level === 'error' ? annotations.findError('*', pattern) : annotations.findWarning('*', pattern);
    return found.map((e) => `${e.id}: ${String(e.entry.data).split('\n')[0]}`);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!message.includes('AwsSolutions-')) throw e;
    return message.split('\n').filter((l) => l.includes('AwsSolutions-'));
  }
}

interface Suppression {
  id: string;
  reason: string;
  applies_to?: unknown[];
}

function suppressions(stack: Stack): { resource: string; rule: Suppression }[] {
  const out: { resource: string; rule: Suppression }[] = [];
  for (const [resource, res] of Object.entries(Template.fromStack(stack).toJSON().Resources as Record<string, any>)) {
    for (const rule of res.Metadata?.cdk_nag?.rules_to_suppress ?? []) out.push({ resource, rule });
  }
  return out;
}

describe.each(Object.entries(variants))('cdk-nag AwsSolutions, %s', (_name, context) => {
  const app = synthMercado(context);
  const stacks = [app.data, app.saga, app.service];

  it.each(stacks.map((s) => [s.stackName, s] as const))('%s has no unsuppressed error', (_id, stack) => {
    expect(nagFindings(stack, 'error')).toEqual([]);
  });

  it.each(stacks.map((s) => [s.stackName, s] as const))('%s has no unsuppressed warning', (_id, stack) => {
    expect(nagFindings(stack, 'warning')).toEqual([]);
  });

  it('every suppression names one rule and gives a specific reason', () => {
    const all = stacks.flatMap(suppressions);
    expect(all.length).toBeGreaterThan(0);
    for (const { resource, rule } of all) {
      expect(rule.id, resource).toMatch(/^AwsSolutions-[A-Z]+[0-9]+$/);
      // A sentence that explains, not a placeholder ("ok", "needed", "TODO").
      expect(rule.reason.length, `${resource} ${rule.id}`).toBeGreaterThanOrEqual(80);
      expect(rule.reason, `${resource} ${rule.id}`).not.toMatch(/\b(TODO|FIXME|TBD)\b/);
    }
    // Wildcard-permission suppressions are always scoped to the findings they accept.
    for (const { resource, rule } of all.filter((s) => s.rule.id === 'AwsSolutions-IAM5' || s.rule.id === 'AwsSolutions-IAM4')) {
      expect(rule.applies_to?.length ?? 0, `${resource} ${rule.id} has appliesTo`).toBeGreaterThan(0);
    }
  });
});

it('the checks are live: an unencrypted queue without a DLQ is reported', () => {
  // Guards the tests above against passing because the rule pack is not applied at all.
  const app = synthMercado();
  new sqs.Queue(app.saga, 'Unprotected', { encryption: sqs.QueueEncryption.UNENCRYPTED });
  const findings = nagFindings(app.saga, 'error').join('\n');
  expect(findings).toContain('AwsSolutions-SQS3');
  expect(findings).toContain('AwsSolutions-SQS4');
});

it('no stack-wide suppression is used', () => {
  const app = synthMercado();
  for (const stack of [app.data, app.saga, app.service]) {
    expect(stack.templateOptions.metadata?.cdk_nag, stack.stackName).toBeUndefined();
  }
});
