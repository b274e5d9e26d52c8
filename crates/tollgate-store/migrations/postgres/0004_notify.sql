-- Schema version 3: alert de-duplication (tollgate-notify).
-- A claim is taken before a message is sent: the primary key makes
-- concurrent shards of one run send it once (the INSERT that conflicts
-- sends nothing). A failed delivery releases its claim.
CREATE TABLE notify_claims (
    channel    TEXT    NOT NULL,
    run_key    TEXT    NOT NULL,
    claim      TEXT    NOT NULL,
    claimed_at BIGINT  NOT NULL,
    PRIMARY KEY (channel, run_key, claim)
);

-- What was last sent for each alert on each channel.
CREATE TABLE notify_alerts (
    channel       TEXT    NOT NULL,
    alert         TEXT    NOT NULL,  -- stable fingerprint
    owner         TEXT    NOT NULL,
    pipeline      TEXT    NOT NULL,
    branch        TEXT    NOT NULL,
    status        TEXT    NOT NULL,  -- firing | resolved
    first_run_key TEXT    NOT NULL,
    last_run_key  TEXT    NOT NULL,
    last_sent_at  BIGINT  NOT NULL,
    summary       TEXT    NOT NULL DEFAULT '',
    issue_number  BIGINT,            -- GitHub issue, for the github channel
    reopened      BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (channel, alert)
);
