// Entry of an inner-loop pool worker thread (started by inner-loop-pool.ts, never by hand): the
// worker gets no loader flags from its parent, so it registers tsx itself, as bin/fleetnas.js does.
import { register } from 'tsx/esm/api'

register()
await import('./inner-loop-worker.ts')
