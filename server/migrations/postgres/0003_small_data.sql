-- Small data kept with its record (issue 14): the bytes of an item up to the server's
-- --small-data-max (64 KiB by default) that arrive inline with a requester's record are
-- stored in this column, in the same transaction as the record, instead of as a file or an
-- object of their own. NULL: the bytes are in the blob store (files or S3), as before, so
-- data directories from before this migration keep working unchanged.
ALTER TABLE blobs ADD COLUMN data BYTEA;
