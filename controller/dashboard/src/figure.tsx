/** Mounts a figure made by the chart module (loaded on first use) into the page. */
import { useEffect, useRef, useState } from 'preact/hooks'

type Charts = typeof import('./charts.ts')
let charts: Promise<Charts> | undefined
export const loadCharts = (): Promise<Charts> => (charts ??= import('./charts.ts'))

export function Figure({ make, deps, ready }: { make: (c: Charts) => Element; deps: unknown[]; ready?: string }) {
  const host = useRef<HTMLDivElement>(null)
  const [drawn, setDrawn] = useState(false)
  const [error, setError] = useState<string | undefined>()
  useEffect(() => {
    let live = true
    loadCharts().then(
      (c) => {
        if (!live || !host.current) return
        try {
          host.current.replaceChildren(make(c))
          setDrawn(true)
        } catch (e) {
          setError((e as Error).message)
        }
      },
      (e: Error) => live && setError(`the chart module did not load: ${e.message}`),
    )
    return () => {
      live = false
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps)
  return (
    <div class="figure" data-ready={drawn && ready ? ready : undefined}>
      {error && <div class="error">{error}</div>}
      <div ref={host} />
    </div>
  )
}
