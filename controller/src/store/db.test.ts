import t from 'tap'
import { tempDir } from '../testing/harness.ts'
import { openStore, WAL_AUTOCHECKPOINT_PAGES } from './db.ts'

// Every caller shares one transaction function (db.ts): nesting must still make savepoints.
t.test('a nested transaction that fails rolls back only its own writes', async (t) => {
  const store = openStore(tempDir(t))
  t.teardown(() => store.close())
  const add = (name: string) => store.counters.increment(name)
  store.writeTransaction(() => {
    add('outer')
    t.throws(() => store.transaction(() => (add('inner'), store.transaction(() => add('innermost')), assertFail())), /nested failure/)
    add('after')
  })
  t.same([store.counters.total('outer'), store.counters.total('inner'), store.counters.total('innermost'), store.counters.total('after')], [1, 0, 0, 1])
  t.throws(() => store.writeTransaction(() => (add('outer'), assertFail())), /nested failure/)
  t.equal(store.counters.total('outer'), 1, 'a failed outer transaction leaves nothing')
  t.equal(store.transaction(() => 42), 42, 'the function result comes back')
  t.notOk(store.db.inTransaction)
})

function assertFail(): never {
  throw new Error('nested failure')
}

t.test('the store checkpoints its WAL every WAL_AUTOCHECKPOINT_PAGES pages, synchronous NORMAL', async (t) => {
  const store = openStore(tempDir(t))
  t.teardown(() => store.close())
  t.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), WAL_AUTOCHECKPOINT_PAGES)
  t.equal(store.db.pragma('synchronous', { simple: true }), 1, 'NORMAL')
})
