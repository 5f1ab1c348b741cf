-- Schema version 3: seed 004's calculator.
CREATE TABLE calc_users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    -- The lower-cased email while the user exists; NULL once deleted, which frees the email.
    email_key     TEXT UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'client')),
    balance       REAL NOT NULL CHECK (balance >= 0),
    deleted       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE calc_operations (
    id   TEXT PRIMARY KEY,
    type TEXT NOT NULL UNIQUE,
    cost REAL NOT NULL CHECK (cost >= 0)
) WITHOUT ROWID;

CREATE TABLE calc_records (
    id                 TEXT PRIMARY KEY,
    operation_id       TEXT NOT NULL REFERENCES calc_operations (id),
    user_id            TEXT NOT NULL REFERENCES calc_users (id),
    amount             REAL NOT NULL,
    user_balance       REAL NOT NULL,
    operation_response TEXT NOT NULL,
    date               TEXT NOT NULL,
    deleted            INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX calc_records_by_user ON calc_records (user_id, date);
CREATE INDEX calc_records_by_operation ON calc_records (operation_id);
