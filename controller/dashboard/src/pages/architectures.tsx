/**
 * Architectures: device-specific architecture requests (hardware-aware meta-NAS). The controller
 * does not take them yet; the page says what will be here and what exists today.
 */
import type { Session } from '../app.tsx'
import { href } from '../router.ts'
import { NeedsLogin } from '../ui.tsx'

export function ArchitecturesPage({ session }: { session: Session }) {
  return (
    <div data-ready="architectures">
      <h1>Architectures</h1>
      {!session.canRead && <NeedsLogin what="architecture requests once they exist" />}
      <div class="notice missing">
        <strong>Architecture requests are not available in this controller yet.</strong> They need the hardware-aware meta-NAS (a meta-trained
        supernet and a genetic search under a latency budget), which is being built. When it lands, this page lists the requests
        (<code>POST /v1/architectures</code>: hardware profile or device, runtime, threads, latency and size budget, few-shot task) with their state
        and progress, plots each request's accuracy-latency Pareto front with the Conv4 baseline marked, and offers the adapted ONNX model for
        download.
      </div>
      <h2>What you can do today</h2>
      <ul>
        <li>
          Profile blocks on your devices and read the latency lookup tables: <a href={href('campaigns', 'new')}>new campaign</a>,{' '}
          <a href="#/luts">LUTs</a>.
        </li>
        <li>
          Meta-train and adapt a fixed architecture from the command line: <code>npx fleetnas meta-train</code>, <code>npx fleetnas meta-eval</code>,{' '}
          <code>npx fleetnas adapt</code> (see README).
        </li>
      </ul>
    </div>
  )
}
