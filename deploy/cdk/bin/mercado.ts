#!/usr/bin/env node
/**
 * The CDK app that deploys mercado (cdk.json runs this file with tsx).
 *
 *   npm ci
 *   npm test                 # assertions on the templates + cdk-nag (AwsSolutions)
 *   npm run synth            # cdk synth, offline: no account, no lookups, no Docker
 *   npx cdk deploy --all     # builds the root Dockerfile (needs Docker), then deploys
 *
 * Options are CDK context, e.g. `npx cdk synth -c multiAz=false -c certificateArn=arn:…`:
 *   region               eu-west-1     region the stacks are for (the account is not fixed)
 *   imageUploadOrigins   *             comma list of origins that may PUT images (bucket CORS)
 *   multiAz              true          RDS Multi-AZ
 *   dbInstanceType       t4g.small     RDS instance class
 *   natGateways          1             NAT gateways (>= 1)
 *   certificateArn       —             ACM certificate: HTTPS on the ALB (else HTTP 80)
 *   apiDesiredCount      2             api tasks (autoscaling from here up to 3x on CPU)
 *   opensearchUrl        —             with opensearchDomainArn: MERCADO_SEARCH=opensearch
 *   opensearchDomainArn  —             (without both, search is off)
 *   cognitoPlus          false         Cognito Plus feature plan (threat protection)
 *   sagaEngine           runner        or stepfunctions: the Mercado-Saga state machine drives orders
 * lib/config.ts documents each one.
 */
import { App } from 'aws-cdk-lib';
import { buildMercado } from '../lib/app';
import { configFromContext } from '../lib/config';

const app = new App();
buildMercado(app, configFromContext(app.node));
