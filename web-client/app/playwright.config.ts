import { defineConfig } from '@playwright/test';

// Journeys run against a live mercado serving the built client (MERCADO_WEB_URL), in Debian's
// Chromium: no browser is ever downloaded.
export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-output/artifacts',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 2,
  fullyParallel: true,
  reporter: 'list',
  use: {
    baseURL: process.env.MERCADO_WEB_URL ?? 'http://127.0.0.1:8080',
    browserName: 'chromium',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-background-networking'],
    },
    screenshot: 'only-on-failure',
  },
});
