/**
 * LUTs: every (hardware profile, runtime, threads) table; for the chosen one a heatmap of block
 * latency (block variant x input shape, or x output width), its uncertainty, the entries of a
 * clicked cell, CSV download; and a second LUT beside it as a ratio heatmap.
 *
 *   #/luts/PROFILE/RUNTIME/THREADS?vs=PROFILE/RUNTIME/THREADS&cols=input|width&only=...&metric=median|spread|cv
 */
import { useEffect, useMemo, useState } from 'preact/hooks'
import { download, getJson } from '../api.ts'
import type { Session } from '../app.tsx'
import { Figure, loadCharts } from '../figure.tsx'
import { ms, pct, when } from '../format.ts'
import { axesOf, filterChoices, lutCells, METRICS, ratioCells, type Cell, type Columns, type Metric } from '../heatmap.ts'
import { href, navigate } from '../router.ts'
import type { LutEntry, LutSummary, LutView } from '../types.ts'
import { ErrorBox, Loading, NeedsLogin, useAsync } from '../ui.tsx'

export interface LutRef {
  profile: string
  runtime: string
  threads: number
}

export const lutName = (l: LutRef) => `${l.profile} · ${l.runtime} · ${l.threads} thr`
const lutPath = (l: LutRef) => `${encodeURIComponent(l.profile)}?runtime=${encodeURIComponent(l.runtime)}&threads=${l.threads}`
const refOf = (s: LutSummary): LutRef => ({ profile: s.hardwareProfile, runtime: s.runtime, threads: s.threads })
const same = (a: LutRef | undefined, b: LutRef | undefined) => !!a && !!b && a.profile === b.profile && a.runtime === b.runtime && a.threads === b.threads

function parseRef(parts: string[]): LutRef | undefined {
  const [profile, runtime, threads] = parts
  return profile && runtime && Number(threads) > 0 ? { profile, runtime, threads: Number(threads) } : undefined
}

export function useLutList(canRead: boolean) {
  return useAsync((signal) => (canRead ? getJson<LutSummary[]>('/v1/luts', { signal }) : Promise.resolve([])), [canRead])
}

export function useLut(ref: LutRef | undefined) {
  return useAsync((signal) => (ref ? getJson<LutView>(`/v1/dashboard/luts/${lutPath(ref)}`, { signal }) : Promise.resolve(undefined)), [ref?.profile, ref?.runtime, ref?.threads])
}

function CellEntries({ cell, entries, other }: { cell: Cell; entries: LutEntry[]; other?: Map<string, LutEntry> }) {
  const keys = new Set(cell.keys)
  const rows = entries.filter((e) => keys.has(e.key)).sort((a, b) => a.medianMs - b.medianMs)
  return (
    <div class="card cell-entries">
      <h2>
        {cell.y} · {cell.x}: {rows.length} block{rows.length > 1 ? 's' : ''}
      </h2>
      <table>
        <thead>
          <tr>
            <th>block key</th>
            <th class="num">median</th>
            <th class="num">p10</th>
            <th class="num">p90</th>
            <th class="num">CV</th>
            <th class="num">samples</th>
            <th class="num">devices</th>
            {other && <th class="num">other LUT</th>}
            {other && <th class="num">ratio</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => {
            const o = other?.get(e.key)
            return (
              <tr key={e.key}>
                <td class="mono">
                  {e.key} {e.noisy && <span class="flag" title="stayed above the CV threshold after re-measuring">noisy</span>}
                </td>
                <td class="num">{ms(e.medianMs)}</td>
                <td class="num">{ms(e.p10Ms)}</td>
                <td class="num">{ms(e.p90Ms)}</td>
                <td class="num">{pct(e.cv)}</td>
                <td class="num">{e.samples}</td>
                <td class="num">{e.devices}</td>
                {other && <td class="num">{ms(o?.medianMs)}</td>}
                {other && <td class="num">{o && o.medianMs > 0 ? `${(e.medianMs / o.medianMs).toFixed(2)}x` : '–'}</td>}
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}

function LutDetail({ a, luts, query }: { a: LutRef; luts: LutSummary[]; query: URLSearchParams }) {
  const b = parseRef((query.get('vs') ?? '').split('/'))
  const columns: Columns = query.get('cols') === 'width' ? 'width' : 'input'
  const metric = (['median', 'ci', 'spread', 'cv'].includes(query.get('metric') ?? '') ? query.get('metric') : 'median') as Metric
  const only = query.get('only') ?? ''
  const lutA = useLut(a)
  const lutB = useLut(b)
  const [cell, setCell] = useState<Cell | undefined>()

  const setQuery = (changes: Record<string, string | undefined>) => {
    const q = new URLSearchParams(query)
    for (const [k, v] of Object.entries(changes)) v ? q.set(k, v) : q.delete(k)
    setCell(undefined)
    navigate(`${href('luts', a.profile, a.runtime, a.threads)}?${q}`, true)
  }

  const entriesA = lutA.data?.entries
  const entriesB = lutB.data?.entries
  const view = useMemo(() => {
    if (!entriesA) return undefined
    const g = { columns, only: only || undefined, metric }
    const all = [...entriesA, ...(entriesB ?? [])].map((e) => e.block).filter((x) => x !== null)
    const kept = all.filter((blk) => !g.only || (columns === 'input' ? String(blk.op === 'head' ? blk.classes : blk.outChannels) === g.only : `${blk.input.h}x${blk.input.w}x${blk.input.c}` === g.only))
    const axes = axesOf(kept, columns)
    const cellsA = lutCells(entriesA, g)
    const cellsB = entriesB ? lutCells(entriesB, g) : undefined
    const ratio = entriesB ? ratioCells(entriesA, entriesB, g) : undefined
    // Side by side, both figures use one colour scale, or equal colours would mean different values.
    const values = [...cellsA, ...(cellsB ?? [])].map((c) => (metric === 'median' ? Math.max(c.value, 1e-4) : c.value)).filter(Number.isFinite)
    const domain: [number, number] | undefined = cellsB && values.length ? [Math.min(...values), Math.max(...values)] : undefined
    return { axes, cellsA, cellsB, ratio, domain, choices: filterChoices(entriesA, columns) }
  }, [entriesA, entriesB, columns, only, metric])

  if (lutA.error) return <ErrorBox error={lutA.error} what={`LUT ${lutName(a)}`} />
  if (!entriesA || !view) return <Loading what={`LUT ${lutName(a)}`} />
  const xLabel = columns === 'input' ? 'input shape (h x w x c)' : 'output width (channels)'
  const others = luts.filter((l) => !same(refOf(l), a))
  const otherMap = entriesB ? new Map(entriesB.map((e) => [e.key, e])) : undefined
  const nameA = lutName(a)
  const nameB = b ? lutName(b) : ''
  const drawn = `${columns}|${only}|${metric}|${entriesA.length}|${entriesB?.length ?? 0}`
  return (
    <div data-ready="lut">
      <h2>
        {nameA} <span class="muted">{entriesA.length.toLocaleString('en')} entries</span>
      </h2>
      <div class="toolbar lut-tools">
        <label>
          columns
          <select value={columns} onChange={(e) => setQuery({ cols: (e.target as HTMLSelectElement).value, only: undefined })}>
            <option value="input">input shape</option>
            <option value="width">output width</option>
          </select>
        </label>
        <label>
          {columns === 'input' ? 'output width' : 'input shape'}
          <select value={only} onChange={(e) => setQuery({ only: (e.target as HTMLSelectElement).value })}>
            <option value="">all (median per cell)</option>
            {view.choices.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          colour
          <select value={metric} onChange={(e) => setQuery({ metric: (e.target as HTMLSelectElement).value })}>
            {Object.entries(METRICS).map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          compare with
          <select name="vs" value={b ? `${b.profile}/${b.runtime}/${b.threads}` : ''} onChange={(e) => setQuery({ vs: (e.target as HTMLSelectElement).value })}>
            <option value="">none</option>
            {others.map((l) => (
              <option key={lutName(refOf(l))} value={`${l.hardwareProfile}/${l.runtime}/${l.threads}`}>
                {lutName(refOf(l))}
              </option>
            ))}
          </select>
        </label>
        <button onClick={() => download(`/v1/luts/${lutPath(a)}&format=csv`, `lut-${a.profile}-${a.runtime}-t${a.threads}.csv`)}>Download CSV</button>
      </div>
      <p class="muted">
        Each cell is the median over the blocks that fall in it (hover for the range, click for the entries). Rows: op, expansion, kernel, stride
        and pooling; the colour menu shows instead how sure each median is (its 95% interval) or how single runs spread (p10–p90, CV).
      </p>
      <div class={b ? 'charts' : ''}>
        <div class="chart heatmap-a">
          <h3>{nameA}</h3>
          <Figure ready="heatmap" deps={[drawn]} make={(c) => c.heatmap(view.cellsA, view.axes, { metric, xLabel, domain: view.domain, onCell: setCell })} />
        </div>
        {b && (
          <div class="chart heatmap-b">
            <h3>{nameB}</h3>
            {lutB.error && <ErrorBox error={lutB.error} what={nameB} />}
            {view.cellsB && <Figure ready="heatmap-b" deps={[drawn]} make={(c) => c.heatmap(view.cellsB!, view.axes, { metric, xLabel, domain: view.domain, onCell: setCell })} />}
          </div>
        )}
      </div>
      {b && view.ratio && (
        <div class="chart ratio">
          <h3>
            Ratio {nameA} / {nameB} <span class="muted">({view.ratio.shared.toLocaleString('en')} blocks in both; red: the first is slower)</span>
          </h3>
          {view.ratio.shared === 0 ? (
            <p class="muted">The two LUTs share no block with a positive value.</p>
          ) : (
            <Figure ready="ratio" deps={[drawn]} make={(c) => c.heatmap(view.ratio!.cells, view.axes, { metric, xLabel, ratio: { a: nameA, b: nameB }, onCell: setCell })} />
          )}
        </div>
      )}
      {cell && <CellEntries cell={cell} entries={entriesA} other={otherMap} />}
    </div>
  )
}

export function LutsPage({ session, selected, query }: { session: Session; selected: string[]; query: URLSearchParams }) {
  const luts = useLutList(session.canRead)
  const a = parseRef(selected)
  // The chart module and the chosen LUT load in parallel with the list, not after it.
  useEffect(() => void (a && loadCharts()), [a?.profile])
  if (!session.canRead)
    return (
      <>
        <h1>LUTs</h1>
        <NeedsLogin what="the latency lookup tables" />
      </>
    )
  return (
    <div data-ready={a || !luts.data ? undefined : 'luts'}>
      <h1>Latency lookup tables</h1>
      {luts.error && <ErrorBox error={luts.error} what="the LUTs" />}
      {!luts.data && !luts.error && <Loading what="the LUTs" />}
      {!luts.data ? null : luts.data.length === 0 ? (
        <div class="notice">No LUT yet: a LUT fills as a campaign's measurements arrive. Start one under <a href="#/campaigns/new">Campaigns</a>.</div>
      ) : (
        <table class="luts">
          <thead>
            <tr>
              <th>hardware profile</th>
              <th>runtime</th>
              <th class="num">threads</th>
              <th>backends</th>
              <th class="num">entries</th>
              <th class="num">devices</th>
              <th>updated</th>
            </tr>
          </thead>
          <tbody>
            {luts.data!.map((l) => {
              const ref = refOf(l)
              return (
                <tr key={lutName(ref)} class={`clickable ${same(ref, a) ? 'selected' : ''}`} onClick={() => navigate(href('luts', l.hardwareProfile, l.runtime, l.threads))}>
                  <td>
                    <a href={href('luts', l.hardwareProfile, l.runtime, l.threads)}>{l.hardwareProfile}</a>
                  </td>
                  <td>{l.runtime}</td>
                  <td class="num">{l.threads}</td>
                  <td>{l.backends.join(', ')}</td>
                  <td class="num">{l.entries.toLocaleString('en')}</td>
                  <td class="num">{l.devices}</td>
                  <td>{when(l.updatedAt)}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
      {a && <LutDetail key={lutName(a)} a={a} luts={luts.data ?? []} query={query} />}
    </div>
  )
}
