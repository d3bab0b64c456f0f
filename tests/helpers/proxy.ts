/**
 * A TCP proxy on loopback between a client (an agent) and a server (the broker), for network-fault
 * tests: `cutOff()` destroys every open connection and refuses new ones (they are accepted and
 * closed at once, like a peer that is unreachable), `heal()` lets connections through again.
 *
 *   const proxy = await startProxy({ port: brokerPort })
 *   t.teardown(proxy.close)
 *   spawnAgent(['--broker', proxy.url, ...])
 *   proxy.cutOff(); ...; proxy.heal()
 */
import net from 'node:net'

export interface ProxyOptions {
  /** Where connections are forwarded. */
  port: number
  host?: string
  /** Listen port; 0 (default) picks a free one. */
  listenPort?: number
}

export interface TcpProxy {
  /** mqtt://127.0.0.1:PORT of the proxy's own listener. */
  url: string
  port: number
  /** Connections currently piped. */
  readonly open: number
  /** Connections accepted and forwarded since start. */
  readonly forwarded: number
  /** Connections refused while cut off. */
  readonly refused: number
  readonly isCutOff: boolean
  /** Drops every current connection (both sides) and refuses new ones until heal(). */
  cutOff(): void
  heal(): void
  close(): Promise<void>
}

export async function startProxy(opts: ProxyOptions): Promise<TcpProxy> {
  const target = { port: opts.port, host: opts.host ?? '127.0.0.1' }
  const pairs = new Set<[net.Socket, net.Socket]>()
  let cut = false
  let forwarded = 0
  let refused = 0

  const server = net.createServer((inbound) => {
    if (cut) {
      refused++
      inbound.destroy()
      return
    }
    forwarded++
    const outbound = net.connect(target)
    const pair: [net.Socket, net.Socket] = [inbound, outbound]
    pairs.add(pair)
    const end = () => {
      pairs.delete(pair)
      inbound.destroy()
      outbound.destroy()
    }
    // Errors (ECONNRESET, ECONNREFUSED when the broker is down) just end the pair.
    inbound.on('error', end).on('close', end)
    outbound.on('error', end).on('close', end)
    inbound.pipe(outbound)
    outbound.pipe(inbound)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.listenPort ?? 0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as net.AddressInfo).port

  const dropAll = () => {
    for (const [a, b] of [...pairs]) {
      // resetAndDestroy sends RST where available: the peer sees the link die, not a clean FIN.
      a.resetAndDestroy?.() ?? a.destroy()
      b.resetAndDestroy?.() ?? b.destroy()
    }
    pairs.clear()
  }

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get open() {
      return pairs.size
    },
    get forwarded() {
      return forwarded
    },
    get refused() {
      return refused
    },
    get isCutOff() {
      return cut
    },
    cutOff() {
      cut = true
      dropAll()
    },
    heal() {
      cut = false
    },
    close: async () => {
      cut = true
      dropAll()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
