/**
 * Schema migrations, applied in order by `PRAGMA user_version`. Append new steps; never edit a
 * released one.
 *
 * Idempotency of results lives in result_batches ((job_id, seq) primary key); measurements are
 * history (a device measured twice keeps both rows, the LUT takes each device's latest), except that
 * an execution holds one row per block or architecture target, however many attempts sent it;
 * execution_blocks is which campaign blocks an execution has stored (progress and `skip`);
 * lut_entries is the materialised LUT, refreshed per key from the keys batches marked in lut_pending.
 */
import type Database from 'better-sqlite3'
import { StoreTooNew } from '../errors.ts'

export const MIGRATIONS: readonly string[] = [
  /* 1: initial schema */ `
  CREATE TABLE devices (
    id               TEXT PRIMARY KEY,
    status           TEXT NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'offline')),
    hardware_profile TEXT,
    threads          INTEGER,
    inventory        TEXT,
    runtimes         TEXT,
    agent_version    TEXT,
    last_seen        TEXT,
    secret_hash      TEXT,
    created_at       TEXT NOT NULL
  );
  CREATE INDEX devices_profile ON devices (hardware_profile);

  CREATE TABLE campaigns (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    state                TEXT NOT NULL,
    runtimes             TEXT NOT NULL,
    settings             TEXT NOT NULL,
    targets              TEXT NOT NULL,
    key_count            INTEGER NOT NULL,
    execution_timeout_ms INTEGER NOT NULL,
    max_retries          INTEGER NOT NULL,
    canceled             INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
  );

  CREATE TABLE campaign_keys (
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    ord         INTEGER NOT NULL,
    key         TEXT NOT NULL,
    PRIMARY KEY (campaign_id, key)
  ) WITHOUT ROWID;

  CREATE TABLE executions (
    id            TEXT PRIMARY KEY,
    campaign_id   TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    device_id     TEXT NOT NULL REFERENCES devices (id),
    runtime       TEXT NOT NULL,
    threads       INTEGER NOT NULL,
    state         TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    retries       INTEGER NOT NULL DEFAULT 0,
    job_id        TEXT,
    last_progress TEXT,
    agent_done    INTEGER,
    agent_total   INTEGER,
    agent_finished INTEGER NOT NULL DEFAULT 0,
    reason        TEXT,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    UNIQUE (campaign_id, device_id, runtime, threads)
  );
  CREATE INDEX executions_device_state ON executions (device_id, state);
  CREATE INDEX executions_state ON executions (state);

  CREATE TABLE jobs (
    job_id       TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    device_id    TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    sent_at      TEXT NOT NULL
  );

  CREATE TABLE result_batches (
    job_id       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    device_id    TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    count        INTEGER NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
  ) WITHOUT ROWID;

  CREATE TABLE measurements (
    id               INTEGER PRIMARY KEY,
    job_id           TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    execution_id     TEXT NOT NULL,
    campaign_id      TEXT NOT NULL,
    device_id        TEXT NOT NULL,
    hardware_profile TEXT,
    kind             TEXT NOT NULL,
    key              TEXT NOT NULL,
    runtime          TEXT NOT NULL,
    backend          TEXT NOT NULL,
    threads          INTEGER NOT NULL,
    median_ms        REAL NOT NULL,
    p10_ms           REAL NOT NULL,
    p90_ms           REAL NOT NULL,
    mean_ms          REAL NOT NULL,
    std_ms           REAL NOT NULL,
    cv               REAL NOT NULL,
    samples          INTEGER NOT NULL,
    rounds           INTEGER NOT NULL,
    noisy            INTEGER NOT NULL,
    overhead_ms      REAL,
    environment      TEXT,
    measured_at      TEXT NOT NULL,
    FOREIGN KEY (job_id, seq) REFERENCES result_batches (job_id, seq)
  );
  CREATE INDEX measurements_lut ON measurements (hardware_profile, runtime, threads, backend, kind, key, device_id, measured_at);
  CREATE INDEX measurements_execution ON measurements (execution_id);

  CREATE TABLE execution_blocks (
    execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    PRIMARY KEY (execution_id, key)
  ) WITHOUT ROWID;

  CREATE TABLE lut_entries (
    hardware_profile TEXT NOT NULL,
    runtime          TEXT NOT NULL,
    threads          INTEGER NOT NULL,
    backend          TEXT NOT NULL,
    key              TEXT NOT NULL,
    median_ms        REAL NOT NULL,
    p10_ms           REAL NOT NULL,
    p90_ms           REAL NOT NULL,
    cv               REAL NOT NULL,
    samples          INTEGER NOT NULL,
    devices          INTEGER NOT NULL,
    spread_ms        REAL NOT NULL,
    noisy            INTEGER NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (hardware_profile, runtime, threads, backend, key)
  ) WITHOUT ROWID;

  CREATE TABLE counters (
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  INTEGER NOT NULL,
    PRIMARY KEY (name, labels)
  ) WITHOUT ROWID;
  `,

  /* 2: one measurement per block or architecture target of an execution. Late results of a
     timed-out attempt used to add a second row next to the retry's. Of existing duplicates the row
     kept is the one the LUTs were built from (each device's latest), so no LUT entry changes. */ `
  DELETE FROM measurements WHERE id IN (
    SELECT id FROM (
      SELECT id, row_number() OVER (PARTITION BY execution_id, kind, key ORDER BY measured_at DESC, id DESC) AS rn
      FROM measurements WHERE kind IN ('block', 'architecture'))
    WHERE rn > 1);
  CREATE UNIQUE INDEX measurements_execution_target ON measurements (execution_id, kind, key) WHERE kind IN ('block', 'architecture');
  `,

  /* 3: the latency model. Campaigns carry architecture targets beside blocks; measurements and LUT
     rows keep the uncertainty of their median (a bootstrap interval) and whether the net median
     fell at or below the call overhead; LUT rows hold every measured kind (block, the empty graph
     of an input shape = one call's overhead, whole architectures) and the overhead subtracted from
     a block; a fitted latency model per LUT is stored with its fit report. */ `
  ALTER TABLE campaign_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'block' CHECK (kind IN ('block', 'architecture'));
  ALTER TABLE measurements ADD COLUMN ci_low_ms REAL;
  ALTER TABLE measurements ADD COLUMN ci_high_ms REAL;
  ALTER TABLE measurements ADD COLUMN below_overhead INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE lut_entries ADD COLUMN kind TEXT NOT NULL DEFAULT 'block' CHECK (kind IN ('block', 'architecture', 'empty'));
  ALTER TABLE lut_entries ADD COLUMN ci_low_ms REAL;
  ALTER TABLE lut_entries ADD COLUMN ci_high_ms REAL;
  ALTER TABLE lut_entries ADD COLUMN overhead_ms REAL;
  ALTER TABLE lut_entries ADD COLUMN below_overhead INTEGER NOT NULL DEFAULT 0;
  UPDATE lut_entries SET below_overhead = 1 WHERE median_ms <= 0;

  CREATE TABLE latency_models (
    hardware_profile TEXT NOT NULL,
    runtime          TEXT NOT NULL,
    threads          INTEGER NOT NULL,
    backend          TEXT NOT NULL,
    model            TEXT NOT NULL,
    data_stamp       TEXT NOT NULL,
    fitted_at        TEXT NOT NULL,
    PRIMARY KEY (hardware_profile, runtime, threads, backend)
  ) WITHOUT ROWID;
  `,

  /* 4: architecture requests ("the most accurate few-shot model that runs in X ms on this class"),
     kept with their progress and result so that a restart resumes or shows them. */ `
  CREATE TABLE architecture_requests (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('QUEUED', 'PROFILING', 'SEARCHING', 'VERIFYING', 'SUCCEEDED', 'FAILED')),
    request     TEXT NOT NULL,
    progress    TEXT,
    result      TEXT,
    error       TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
  );
  CREATE INDEX architecture_requests_state ON architecture_requests (state);
  `,

  /* 5: a device's latest sensor reading (the fleet page's temperature and throttling) is an index
     seek, also for devices that never sent one: without it, 1,000 devices over a million
     measurements took a minute. */ `
  CREATE INDEX measurements_device_environment ON measurements (device_id, id) WHERE environment IS NOT NULL;
  `,

  /* 6: architecture requests can fine-tune their answer (FINETUNING) and be canceled (CANCELED).
     SQLite cannot alter a CHECK constraint, so the table is rebuilt. */ `
  CREATE TABLE architecture_requests_v6 (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('QUEUED', 'PROFILING', 'SEARCHING', 'FINETUNING', 'VERIFYING', 'SUCCEEDED', 'FAILED', 'CANCELED')),
    request     TEXT NOT NULL,
    progress    TEXT,
    result      TEXT,
    error       TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
  );
  INSERT INTO architecture_requests_v6 SELECT id, state, request, progress, result, error, created_at, updated_at FROM architecture_requests;
  DROP TABLE architecture_requests;
  ALTER TABLE architecture_requests_v6 RENAME TO architecture_requests;
  CREATE INDEX architecture_requests_state ON architecture_requests (state);
  `,

  /* 7: LUT rows are re-aggregated after ingest, not inside it. Re-aggregating a key reads the latest
     row of every device of the class, so doing it for every results batch made ingest quadratic in
     the fleet (1,000 devices: 13 batches/s). A batch now marks the (scope, kind, key) it touched
     here, in its own transaction, and the next LUT read (or the periodic fold) re-aggregates the
     marked keys once and clears them: a crash between the two loses no refresh. */ `
  CREATE TABLE lut_pending (
    hardware_profile TEXT NOT NULL,
    runtime          TEXT NOT NULL,
    threads          INTEGER NOT NULL,
    backend          TEXT NOT NULL,
    kind             TEXT NOT NULL,
    key              TEXT NOT NULL,
    PRIMARY KEY (hardware_profile, runtime, threads, backend, kind, key)
  ) WITHOUT ROWID;
  `,

  /* 8: every stored measurement wrote five index entries; measurements_execution (execution_id)
     served no query of the controller (per-execution reads go to execution_blocks, and a block or
     architecture target of an execution is found through measurements_execution_target). Dropping
     it takes a B-tree insert off every row of the ingest path. */ `
  DROP INDEX measurements_execution;
  `,

  /* 9: whether a campaign has an open execution is asked each time one of its executions ends. With
     only executions_state (state) and the unique (campaign_id, device_id, ...) index, SQLite walked
     the campaign's executions in device order past every finished one: quadratic in the fleet
     (1,000 devices: ~0.1 ms per finished execution, more with every device). One seek now. */ `
  CREATE INDEX executions_campaign_state ON executions (campaign_id, state);
  `,

  /* 10: an execution's stored campaign targets are counted as they are stored (the results batch
     that stores them adds them), not counted again from execution_blocks at every read: the count
     walked every stored key of the execution, 0.4 ms at 16,000 blocks, on every results drain and job
     state of the execution and for every execution of a campaign page. */ `
  ALTER TABLE executions ADD COLUMN done INTEGER NOT NULL DEFAULT 0;
  UPDATE executions SET done = (SELECT count(*) FROM execution_blocks b WHERE b.execution_id = executions.id);
  `,
]

export const SCHEMA_VERSION = MIGRATIONS.length

/** Brings the database to SCHEMA_VERSION, each step in its own transaction. Returns the steps applied. */
export function migrate(db: Database.Database, file: string): number {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > SCHEMA_VERSION) throw StoreTooNew(file, current, SCHEMA_VERSION)
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v])
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
  return SCHEMA_VERSION - current
}
