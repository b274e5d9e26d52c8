-- Schema version 5: the inventory learned from real pytest runs
-- (`tollgate learn`, and every pytest job of `tollgate run`).
-- One row per test file and content key: a file's items are used only
-- while the file, its conftest chain and the ini file hash to `key_hash`.
CREATE TABLE learned_files (
    path        TEXT    NOT NULL,  -- test file, relative to pytest's rootdir
    key_hash    TEXT    NOT NULL,  -- sha256 of the path, file, conftest chain and ini file
    source      TEXT    NOT NULL,  -- the learn id or run key that recorded it
    recorded_at BIGINT NOT NULL,
    items       TEXT    NOT NULL,  -- JSON: node ids, lines and marks, in pytest's order
    PRIMARY KEY (path, key_hash)
);
CREATE INDEX learned_files_key ON learned_files (key_hash);
