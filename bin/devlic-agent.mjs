#!/usr/bin/env node
import { launch } from './launch.mjs';
// The installer's entry sends install/uninstall to installer/ and everything else to agent/main.ts.
await launch('installer/agent-entry.ts');
