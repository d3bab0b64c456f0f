import { readFileSync } from 'node:fs'
const rss = () => (Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status','utf8'))[1])*1.024).toFixed(1)
const mods = process.argv.slice(2)
console.log('bare', rss())
if (mods[0] === 'tsx') { const { register } = await import('tsx/esm/api'); register(); mods.shift(); console.log('tsx', rss()) }
for (const m of mods) { await import(m); globalThis.gc?.(); console.log(m, rss()) }
await new Promise(r=>setTimeout(r,2000)); globalThis.gc?.(); console.log('after 2s', rss())
