-- Attestation server schema (PostgreSQL). Hashes and SCALE blobs are BYTEAs, times unix ms.
CREATE TABLE channels (
    channel_id  BYTEA PRIMARY KEY,
    requester   BYTEA NOT NULL,
    verifier    BYTEA NOT NULL,
    next_anchor BIGINT NOT NULL DEFAULT 0,
    seen_at     BIGINT NOT NULL
);

CREATE TABLE items (
    channel_id    BYTEA NOT NULL,
    seq           BIGINT NOT NULL,
    digest        BYTEA NOT NULL,
    payment_hash  BYTEA NOT NULL,
    first_record  BYTEA,
    first_at      BIGINT,
    second_record BYTEA,
    second_at     BIGINT,
    anchor_index  BIGINT,
    PRIMARY KEY (channel_id, seq)
);
CREATE INDEX items_by_digest ON items (digest);

CREATE TABLE anchors (
    channel_id  BYTEA NOT NULL,
    idx         BIGINT NOT NULL,
    first_seq   BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    root        BYTEA NOT NULL,
    block       BIGINT NOT NULL,
    complete    BIGINT NOT NULL DEFAULT 0,
    accepted_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, idx)
);

CREATE TABLE blobs (
    digest     BYTEA PRIMARY KEY,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
