import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaFunctionNames, MercadoSagaStack, placeholders, readSagaDefinition } from '../lib/saga-stack';
import { actions, policyStatements, resources, synthMercado } from './helpers';

const asl = JSON.parse(readSagaDefinition()) as { StartAt: string; States: Record<string, unknown> };

let template: Template;
beforeAll(() => {
  template = Template.fromStack(synthMercado().saga);
});

function definition(t: Template): string {
  const machine = Object.values(t.findResources('AWS::StepFunctions::StateMachine'))[0] as any;
  const body = machine.Properties.DefinitionString;
  // A definition without tokens is rendered as the plain string.
  expect(typeof body).toBe('string');
  return body as string;
}

describe('purchase saga state machine', () => {
  it('is one STANDARD state machine with tracing and ALL-level logging to its own log group', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    const logGroup = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0];
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logGroup, 'Arn'] } } }],
      },
    });
  });

  it('inlines the committed ASL unchanged: every state of src/workers/saga.asl.json', () => {
    const deployed = JSON.parse(definition(template)) as typeof asl;
    expect(deployed).toEqual(asl);
    expect(Object.keys(deployed.States)).toEqual(
      expect.arrayContaining(['HoldStock', 'TakePayment', 'Finalize', 'Refund', 'Confirmed', 'Rejected', 'PaymentFailed', 'Cancelled']),
    );
    expect(deployed.StartAt).toBe('HoldStock');
  });

  it('the committed ASL has no ${...} placeholders, so no substitutions are passed', () => {
    expect(placeholders(readSagaDefinition())).toEqual([]);
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as any;
    expect(machine.Properties.DefinitionSubstitutions).toBeUndefined();
  });

  it('may invoke exactly the Lambda functions the ASL names, and nothing else beyond logs and X-Ray', () => {
    const names = lambdaFunctionNames(readSagaDefinition());
    expect(names.sort()).toEqual(['mercado-charge', 'mercado-commit-stock', 'mercado-hold-stock', 'mercado-refund', 'mercado-release-stock']);
    const statements = policyStatements(template).map((p) => p.statement);
    const invoke = statements.filter((s) => actions(s).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(actions(invoke[0])).toEqual(['lambda:InvokeFunction']);
    const arns = resources(invoke[0]).map((r) => JSON.stringify(r));
    expect(arns).toHaveLength(names.length);
    for (const name of names) expect(arns.some((a) => a.includes(`:function:${name}"`))).toBe(true);
    for (const s of statements) {
      for (const a of actions(s)) expect(a).toMatch(/^(lambda:InvokeFunction|logs:[A-Za-z]+|xray:[A-Za-z]+)$/);
    }
  });
});

describe('definitionSubstitutions', () => {
  function withPlaceholder(): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mercado-asl-')), 'saga.asl.json');
    const doc = {
      StartAt: 'Notify',
      States: {
        Notify: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage',
          Parameters: { QueueUrl: '${QueueUrl}', 'MessageBody.$': '$' },
          End: true,
        },
      },
    };
    fs.writeFileSync(file, JSON.stringify(doc));
    return file;
  }

  it('refuses a definition whose placeholders are not all given', () => {
    const app = new App();
    expect(() => new MercadoSagaStack(app, 'Saga', { definitionFile: withPlaceholder() })).toThrow(/QueueUrl/);
  });

  it('passes the given values as DefinitionSubstitutions', () => {
    const app = new App();
    const stack = new MercadoSagaStack(app, 'Saga', {
      definitionFile: withPlaceholder(),
      substitutions: { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/111111111111/q' },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/111111111111/q' },
    });
  });
});
