-- The chain's evidence for each accepted anchor (issue 27, proof format 2): the anchor block's
-- hash and time and the SCALE `attest_finality::ChainEvidence` (header, storage proof, GRANDPA
-- finality from genesis, the channel's parties and open nonce), built once from the node when
-- the anchor is accepted, while the node still has the block's state. Proofs of the anchor's
-- items are the proof bundle followed by these bytes, with no call to the node.
CREATE TABLE anchor_evidence (
    channel_id  BYTEA NOT NULL,
    idx         BIGINT NOT NULL,
    block_hash  BYTEA NOT NULL,
    block_time  BIGINT NOT NULL,
    evidence    BYTEA NOT NULL,
    PRIMARY KEY (channel_id, idx)
);
