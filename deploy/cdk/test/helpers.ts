import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { Template } from 'aws-cdk-lib/assertions';
import { buildMercado, MercadoStacks } from '../lib/app';
import { configFromContext, MercadoConfig } from '../lib/config';

export const CDK_DIR = path.resolve(__dirname, '..');
export const REPO = path.resolve(CDK_DIR, '../..');

/** The feature flags of cdk.json, so the tests synthesize what `cdk synth` does. */
function cdkJsonContext(): Record<string, unknown> {
  const json = JSON.parse(fs.readFileSync(path.join(CDK_DIR, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return json.context ?? {};
}

export interface Synthesized extends MercadoStacks {
  readonly app: App;
  readonly config: MercadoConfig;
}

/** The whole app, as bin/mercado.ts builds it, with extra context (the -c flags). */
export function synthMercado(context: Record<string, unknown> = {}): Synthesized {
  const app = new App({ context: { ...cdkJsonContext(), ...context } });
  const config = configFromContext(app.node);
  return { app, config, ...buildMercado(app, config) };
}

/** Reads the source of the Rust server, relative to the repository root. */
export function repoFile(relative: string): string {
  return fs.readFileSync(path.join(REPO, relative), 'utf8');
}

/** `pub const NAME: &str = "value";` constants of a Rust file. */
export function rustStrConsts(relative: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of repoFile(relative).matchAll(/pub const ([A-Z_]+): &str = "([^"]*)";/g)) out[m[1]] = m[2];
  return out;
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every AWS::IAM::Policy in the template, with the policy's logical id. */
export function policyStatements(template: Template): { policy: string; statement: Statement }[] {
  const out: { policy: string; statement: Statement }[] = [];
  for (const [policy, res] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
    const doc = (res as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument;
    for (const statement of doc.Statement) out.push({ policy, statement });
  }
  return out;
}

export function actions(s: Statement): string[] {
  return Array.isArray(s.Action) ? s.Action : [s.Action];
}

export function resources(s: Statement): unknown[] {
  return Array.isArray(s.Resource) ? s.Resource : [s.Resource];
}

/** The CloudFormation logical id of an L2 construct's main resource (or of an L1 itself). */
export function logicalId(construct: IConstruct): string {
  const cfn = (CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild) as CfnElement;
  return Stack.of(cfn).getLogicalId(cfn);
}
