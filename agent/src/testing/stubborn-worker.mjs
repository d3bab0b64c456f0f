// A measurement worker that never finishes and ignores cancel (tests the daemon's SIGKILL after the
// grace period). Speaks just enough of worker/messages.ts: one progress message, then nothing.
process.on('message', (msg) => {
  if (msg.type === 'measure') process.send({ type: 'progress', done: 0, total: 1 })
})
process.on('disconnect', () => process.exit(0))
setInterval(() => {}, 1000)
