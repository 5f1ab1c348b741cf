-- Schema version 1: every seed surface.
CREATE TABLE accounts (
    username      TEXT PRIMARY KEY,
    password_sha1 TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE shared_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    counter    INTEGER NOT NULL,
    message    TEXT NOT NULL,
    updated_at TEXT
);
INSERT INTO shared_state (id, counter, message, updated_at) VALUES (1, 0, 'Initial state', NULL);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    counter   INTEGER NOT NULL,
    message   TEXT NOT NULL,
    timestamp TEXT NOT NULL
);

CREATE TABLE people (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    name      TEXT NOT NULL,
    email     TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE
);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner       TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT
);
CREATE INDEX items_by_owner ON items (owner, id);
