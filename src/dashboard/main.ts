#!/usr/bin/env node
/**
 * `npm run dashboard`: the live page, the queue-level Prometheus metrics and bull-board
 * (see dashboard-app.ts), on DASHBOARD_PORT (see index.ts).
 */
import { runDashboard } from './index';

runDashboard();
