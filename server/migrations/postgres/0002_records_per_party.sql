-- Records per party (issue 12): each party's record of a slot (channel, seq) is kept on its
-- own, so one party's wrong record can never block the other's. The anchored log decides:
-- a record whose digest is the anchored leaf gets anchor_index, one that is not gets wrong = 1.
CREATE TABLE records (
    channel_id   BYTEA NOT NULL,
    seq          BIGINT NOT NULL,
    party        BIGINT NOT NULL, -- 0: the verifier's first record, 1: the requester's second record
    digest       BYTEA NOT NULL,
    payment_hash BYTEA NOT NULL,
    record       BYTEA NOT NULL,      -- SCALE FirstRecord or SecondRecord (data as a blob reference)
    at           BIGINT NOT NULL,
    anchor_index BIGINT,
    wrong        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, seq, party)
);
INSERT INTO records (channel_id, seq, party, digest, payment_hash, record, at, anchor_index)
    SELECT channel_id, seq, 0, digest, payment_hash, first_record, first_at, anchor_index
    FROM items WHERE first_record IS NOT NULL;
INSERT INTO records (channel_id, seq, party, digest, payment_hash, record, at, anchor_index)
    SELECT channel_id, seq, 1, digest, payment_hash, second_record, second_at, anchor_index
    FROM items WHERE second_record IS NOT NULL;
DROP TABLE items;
CREATE INDEX records_by_digest ON records (digest);

-- Channels whose requester proved it holds a blob's bytes (uploaded them). Only the parties
-- of these channels may read the blob. Not filled from the old schema: a second record by
-- reference proved nothing, so requesters prove possession again by uploading.
CREATE TABLE possession (
    channel_id BYTEA NOT NULL,
    digest     BYTEA NOT NULL,
    proven_at  BIGINT NOT NULL,
    PRIMARY KEY (channel_id, digest)
);

-- Incomplete anchors are checked again only when their channel got records since the last
-- check (version counts record submissions per channel).
ALTER TABLE channels ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE anchors ADD COLUMN tried_version BIGINT NOT NULL DEFAULT -1;
