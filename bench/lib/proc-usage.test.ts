import t from 'tap'
import { cpuSeconds, idleUsage, parseCpuTicks, parseVmRssMB, rssMB } from './proc-usage.ts'

t.test('parses VmRSS (kB = KiB) into MB', async (t) => {
  t.equal(parseVmRssMB('Name:\tnode\nVmPeak:\t 900 kB\nVmRSS:\t  100000 kB\nRssAnon:\t 5 kB\n'), 102.4)
  t.throws(() => parseVmRssMB('Name:\tzombie\n'), /VmRSS/)
})

t.test('parses utime + stime even when the command name holds spaces and parentheses', async (t) => {
  // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
  const stat = '1234 (node (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0'
  t.equal(parseCpuTicks(stat), 300)
})

t.test('reads this process from /proc', { skip: process.platform !== 'linux' && 'needs Linux /proc' }, async (t) => {
  t.ok((await rssMB(process.pid)) > 10, 'a node process holds more than 10 MB')
  t.ok((await cpuSeconds(process.pid)) > 0)
  // Burn 200 ms of CPU (by the process's own clock, so a loaded machine only makes it slower)
  // inside the window; the window must see at least most of it.
  const usage = idleUsage(process.pid, 500)
  await new Promise((r) => setTimeout(r, 50)) // let the window's first reading happen
  const start = process.cpuUsage()
  while (process.cpuUsage(start).user + process.cpuUsage(start).system < 200_000);
  const u = await usage
  const seen = (u.cpuPercent / 100) * u.windowS
  t.ok(seen > 0.15 && seen < 0.5, `the window saw ${seen.toFixed(2)} s of CPU (${u.cpuPercent.toFixed(1)}% of one core)`)
  t.ok(u.peakRssMB >= u.rssMB * 0.5)
})
