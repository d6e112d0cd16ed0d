#!/usr/bin/env node
/** `npm run producer`: the HTTP API that accepts workloads and answers about them (see index.ts). */
import { runProducer } from './index';

runProducer();
