-- Attestation server schema (SQLite). Hashes and SCALE blobs are BLOBs, times unix ms.
CREATE TABLE channels (
    channel_id  BLOB PRIMARY KEY NOT NULL,
    requester   BLOB NOT NULL,
    verifier    BLOB NOT NULL,
    next_anchor BIGINT NOT NULL DEFAULT 0,
    seen_at     BIGINT NOT NULL
);

CREATE TABLE items (
    channel_id    BLOB NOT NULL,
    seq           BIGINT NOT NULL,
    digest        BLOB NOT NULL,
    payment_hash  BLOB NOT NULL,
    first_record  BLOB,
    first_at      BIGINT,
    second_record BLOB,
    second_at     BIGINT,
    anchor_index  BIGINT,
    PRIMARY KEY (channel_id, seq)
);
CREATE INDEX items_by_digest ON items (digest);

CREATE TABLE anchors (
    channel_id  BLOB NOT NULL,
    idx         BIGINT NOT NULL,
    first_seq   BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    root        BLOB NOT NULL,
    block       BIGINT NOT NULL,
    complete    BIGINT NOT NULL DEFAULT 0,
    accepted_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, idx)
);

CREATE TABLE blobs (
    digest     BLOB PRIMARY KEY NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
