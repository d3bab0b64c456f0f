/**
 * A TypeScript child process (run through tsx) spoken to over Node IPC: send a command, wait for
 * the first report of a given type. An `error` report or an early exit rejects every wait.
 */
import { fork, type ChildProcess } from 'node:child_process'

export interface IpcChild<C, R extends { type: string }> {
  pid: number
  send(command: C): void
  /** The next report of this type (reports that arrived before the call are kept). */
  next<T extends R['type']>(type: T, timeoutMs: number): Promise<Extract<R, { type: T }>>
  /** Asks it to stop with `stop`, kills it after `graceMs`. */
  stop(stopCommand: C, graceMs?: number): Promise<void>
}

export function forkTs<C, R extends { type: string }>(script: string): IpcChild<C, R> {
  const child: ChildProcess = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const inbox: R[] = []
  const waiters: { type: string; resolve: (r: R) => void; reject: (e: Error) => void }[] = []
  let failure: Error | undefined
  const failAll = (e: Error) => {
    failure = e
    for (const w of waiters.splice(0)) w.reject(e)
  }
  child.on('message', (r: R) => {
    if (r.type === 'error') return failAll(new Error(`${script}: ${(r as unknown as { message: string }).message}`))
    const i = waiters.findIndex((w) => w.type === r.type)
    if (i >= 0) waiters.splice(i, 1)[0].resolve(r)
    else inbox.push(r)
  })
  child.once('exit', (code, signal) => failAll(new Error(`${script} exited (code ${code}, signal ${signal})`)))
  return {
    pid: child.pid!,
    send: (c) => void child.send(c as object),
    next: (type, timeoutMs) =>
      new Promise((resolve, reject) => {
        const i = inbox.findIndex((r) => r.type === type)
        if (i >= 0) return resolve(inbox.splice(i, 1)[0] as never)
        if (failure) return reject(failure)
        const timer = setTimeout(() => reject(new Error(`${script}: no '${type}' within ${timeoutMs} ms`)), timeoutMs)
        waiters.push({
          type,
          resolve: (r) => (clearTimeout(timer), resolve(r as never)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        })
      }),
    stop: (stopCommand, graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        const force = setTimeout(() => child.kill('SIGKILL'), graceMs)
        child.once('exit', () => (clearTimeout(force), resolve()))
        child.send(stopCommand as object, (err) => err && child.kill('SIGKILL'))
      }),
  }
}
