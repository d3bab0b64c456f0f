#!/usr/bin/env node
// The agent's measurement worker, started by the daemon with child_process.fork (never by hand):
// runs the TypeScript sources through tsx like fleetnas-agent.js does.
import { register } from 'tsx/esm/api'

register()
await import('../src/worker/measure-worker.ts')
