/** Persistent event counters (rejected messages, duplicates, refused publishes) that /metrics reports. */
import type Database from 'better-sqlite3'

export type Labels = Record<string, string>

/** Labels in a canonical order so the same set always lands on the same row. */
const labelKey = (labels: Labels) => JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))))

export function counterQueries(db: Database.Database) {
  const inc = db.prepare(`INSERT INTO counters (name, labels, value) VALUES (?, ?, ?) ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value`)
  const byName = db.prepare<[string], { labels: string; value: number }>(`SELECT labels, value FROM counters WHERE name = ? ORDER BY labels`)
  return {
    increment: (name: string, labels: Labels = {}, by = 1) => void inc.run(name, labelKey(labels), by),
    read: (name: string): { labels: Labels; value: number }[] => byName.all(name).map((r) => ({ labels: JSON.parse(r.labels), value: r.value })),
    total: (name: string): number => byName.all(name).reduce((s, r) => s + r.value, 0),
  }
}
export type CounterQueries = ReturnType<typeof counterQueries>
