//! Anchors accepted from the chain, and what checking them against the records needs: the
//! log's records, its anchored leaves, and completing an anchor.

use super::{
	dialect::{channel_lock_key, decode_hex, retrying},
	*,
};

impl Store {
	/// Store a chain-checked anchor; `false` if it was stored before.
	pub async fn insert_anchor(&self, anchor: &Anchor) -> Result<bool> {
		let _w = self.write_guard().await;
		let mut tx = self.pool.begin().await?;
		let n = sqlx::query(
			"INSERT INTO anchors (channel_id, idx, first_seq, count, root, block, complete, accepted_at) \
			 VALUES ($1, $2, $3, $4, $5, $6, 0, $7) ON CONFLICT (channel_id, idx) DO NOTHING",
		)
		.bind(anchor.channel_id.0.to_vec())
		.bind(i64::from(anchor.index))
		.bind(anchor.first_seq as i64)
		.bind(anchor.new_items() as i64)
		.bind(anchor.log.root.0.to_vec())
		.bind(i64::from(anchor.block))
		.bind(now_ms())
		.execute(&mut *tx)
		.await?
		.rows_affected();
		// Next anchor to look for: one past the highest accepted.
		sqlx::query(
			"UPDATE channels SET next_anchor = $1 WHERE channel_id = $2 AND next_anchor < $1",
		)
		.bind(i64::from(anchor.index) + 1)
		.bind(anchor.channel_id.0.to_vec())
		.execute(&mut *tx)
		.await?;
		tx.commit().await?;
		Ok(n == 1)
	}

	pub(super) fn anchor_of(row: &sqlx::any::AnyRow) -> Result<AnchorRow> {
		Self::anchor_columns_of(row, "")
	}

	/// The anchor in `row`'s columns named `prefix` + the [`Store::ANCHOR_COLUMNS`] names.
	pub(super) fn anchor_columns_of(row: &sqlx::any::AnyRow, prefix: &str) -> Result<AnchorRow> {
		let col = |name: &str| format!("{prefix}{name}");
		let idx: i64 = row.try_get(col("idx").as_str())?;
		let block: i64 = row.try_get(col("block").as_str())?;
		let first_seq: i64 = row.try_get(col("first_seq").as_str())?;
		let count: i64 = row.try_get(col("count").as_str())?;
		let complete: i64 = row.try_get(col("complete").as_str())?;
		Ok(AnchorRow {
			anchor: Anchor {
				channel_id: hash_of(
					row.try_get(col("channel_id").as_str())?,
					"anchors.channel_id",
				)?,
				index: u32::try_from(idx).map_err(|_| StoreError::Corrupt("anchors.idx"))?,
				first_seq: first_seq as u64,
				log: attest_primitives::LogHead {
					size: (first_seq as u64).saturating_add(count as u64),
					root: hash_of(row.try_get(col("root").as_str())?, "anchors.root")?,
				},
				block: u32::try_from(block).map_err(|_| StoreError::Corrupt("anchors.block"))?,
			},
			complete: complete != 0,
		})
	}

	pub(super) const ANCHOR_COLUMNS: &'static str =
		"a.channel_id, a.idx, a.first_seq, a.count, a.root, a.block, a.complete";

	/// An accepted anchor.
	pub async fn anchor(&self, channel: &ChannelId, index: u32) -> Result<Option<AnchorRow>> {
		let row = sqlx::query(&format!(
			"SELECT {} FROM anchors a WHERE a.channel_id = $1 AND a.idx = $2",
			Self::ANCHOR_COLUMNS
		))
		.bind(channel.0.to_vec())
		.bind(i64::from(index))
		.fetch_optional(&self.pool)
		.await?;
		row.as_ref().map(Self::anchor_of).transpose()
	}

	/// Incomplete anchors worth checking again: those whose channel got records since the
	/// last check (`version`), oldest first. Anchors of channels with no records here are
	/// never returned, so they cannot crowd out the others.
	pub async fn anchors_to_check(&self, limit: u32) -> Result<Vec<(Anchor, i64)>> {
		let rows = sqlx::query(&format!(
			"SELECT {}, c.version FROM anchors a JOIN channels c ON c.channel_id = a.channel_id \
			 WHERE a.complete = 0 AND a.tried_version < c.version \
			 ORDER BY a.accepted_at, a.idx LIMIT {limit}",
			Self::ANCHOR_COLUMNS
		))
		.fetch_all(&self.pool)
		.await?;
		rows.iter()
			.map(|r| Ok((Self::anchor_of(r)?.anchor, r.try_get("version")?)))
			.collect()
	}

	/// The record version of `channel` (see [`Store::anchors_to_check`]).
	pub async fn channel_version(&self, channel: &ChannelId) -> Result<i64> {
		let row = sqlx::query("SELECT version FROM channels WHERE channel_id = $1")
			.bind(channel.0.to_vec())
			.fetch_optional(&self.pool)
			.await?;
		Ok(row.map(|r| r.try_get("version")).transpose()?.unwrap_or(0))
	}

	/// Remember that `anchor` was checked against the records of `version` and is not
	/// complete: it is not checked again until records arrive.
	pub async fn anchor_tried(&self, anchor: &Anchor, version: i64) -> Result<()> {
		let _w = self.write_guard().await;
		sqlx::query(
			"UPDATE anchors SET tried_version = $1 WHERE channel_id = $2 AND idx = $3 \
			 AND tried_version < $1",
		)
		.bind(version)
		.bind(anchor.channel_id.0.to_vec())
		.bind(i64::from(anchor.index))
		.execute(&self.pool)
		.await?;
		Ok(())
	}

	/// How many of the slots `0 .. size` of `channel` have a record here (counted in the
	/// database: a log with slots missing is found without reading it).
	pub async fn slots_stored(&self, channel: &ChannelId, size: u64) -> Result<u64> {
		let row = sqlx::query(
			"SELECT COUNT(*) AS n FROM (SELECT DISTINCT seq FROM records WHERE channel_id = $1 \
			 AND seq < $2) t",
		)
		.bind(channel.0.to_vec())
		.bind(size.min(i64::MAX as u64) as i64)
		.fetch_one(&self.pool)
		.await?;
		Ok(row.try_get::<i64, _>("n")?.max(0) as u64)
	}

	/// The anchored digests of slots `0 .. size` of `channel`, in order, read as one row:
	/// the leaves of a complete anchor's tree. `None` when a slot has no anchored record
	/// (or two different ones). One row instead of one per slot: sqlx's SQLite driver hands
	/// each row over from its worker thread as a message of its own.
	pub async fn anchored_leaves(
		&self,
		channel: &ChannelId,
		size: u64,
	) -> Result<Option<Vec<Hash>>> {
		let Ok(size_i) = i64::try_from(size) else { return Ok(None) };
		// The verifier's records alone first (it uploads them before it reveals a bill key, so
		// every slot of a complete anchor has one in the usual case): one party's records visit
		// half the rows of a log both parties uploaded and need no DISTINCT (SQLite: 1.37 ->
		// 0.60 ms for a log of 1,000, measured through Python's SQLite). Both parties' when a
		// slot has no anchored record of the verifier.
		for one_party in [true, false] {
			let slots = if one_party {
				"SELECT seq, digest FROM records WHERE channel_id = $1 AND seq < $2 \
				 AND party = 0 AND anchor_index IS NOT NULL"
			} else {
				"SELECT DISTINCT seq, digest FROM records WHERE channel_id = $1 AND seq < $2 \
				 AND anchor_index IS NOT NULL"
			};
			if let Some(leaves) =
				self.leaves_query(channel, size, size_i, slots, !one_party).await?
			{
				return Ok(Some(leaves));
			}
		}
		Ok(None)
	}

	pub(super) async fn leaves_query(
		&self,
		channel: &ChannelId,
		size: u64,
		size_i: i64,
		slots: &str,
		two_parties: bool,
	) -> Result<Option<Vec<Hash>>> {
		// One party's records hold one row per slot (the primary key): no DISTINCT count.
		let count_slots = if two_parties { "COUNT(DISTINCT seq)" } else { "COUNT(*)" };
		// SQLite's group_concat joins text: the digests travel as hex there.
		let joined = match self.backend {
			Backend::Sqlite => "COALESCE(group_concat(hex(digest), '' ORDER BY seq), '')",
			Backend::Postgres => "COALESCE(string_agg(digest, ''::bytea ORDER BY seq), ''::bytea)",
		};
		let row = sqlx::query(&format!(
			"SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST({count_slots} AS BIGINT) AS slots, \
			 {joined} AS d FROM ({slots}) t"
		))
		.bind(channel.0.to_vec())
		.bind(size_i)
		.fetch_one(&self.pool)
		.await?;
		let n: i64 = row.try_get("n")?;
		if n != size_i || n != row.try_get::<i64, _>("slots")? {
			return Ok(None);
		}
		let bytes: Vec<u8> = match self.backend {
			Backend::Sqlite => {
				let text: String = row.try_get("d")?;
				decode_hex(text.as_bytes()).ok_or(StoreError::Corrupt("records.digest"))?
			},
			Backend::Postgres => row.try_get("d")?,
		};
		if bytes.len() != size as usize * 32 {
			return Ok(None);
		}
		Ok(Some(
			bytes
				.chunks_exact(32)
				.map(|c| {
					let mut h = [0u8; 32];
					h.copy_from_slice(c);
					Hash(h)
				})
				.collect(),
		))
	}

	/// Every stored record of slots `0 .. size` of `channel`, in sequence order.
	pub async fn log_records(&self, channel: &ChannelId, size: u64) -> Result<Vec<LogRecord>> {
		let rows = sqlx::query(
			"SELECT seq, party, digest, anchor_index FROM records WHERE channel_id = $1 \
			 AND seq < $2 ORDER BY seq, party",
		)
		.bind(channel.0.to_vec())
		.bind(size.min(i64::MAX as u64) as i64)
		.fetch_all(&self.pool)
		.await?;
		rows.into_iter()
			.map(|r| {
				let seq: i64 = r.try_get("seq")?;
				let party: i64 = r.try_get("party")?;
				Ok(LogRecord {
					seq: seq as u64,
					party: column_party(party),
					digest: hash_of(r.try_get("digest")?, "records.digest")?,
					anchored: r.try_get::<Option<i64>, _>("anchor_index")?.is_some(),
				})
			})
			.collect()
	}

	/// Mark `anchor` complete: the records of its new slots whose digest is the anchored
	/// leaf are anchored by it. `disputed` lists the slots where the parties' records
	/// differ, with the anchored leaf: there the other record is marked wrong.
	pub async fn complete_anchor(&self, anchor: &Anchor, disputed: &[(Seq, Hash)]) -> Result<()> {
		let _w = self.write_guard().await;
		retrying(|| self.complete_anchor_once(anchor, disputed)).await
	}

	pub(super) async fn complete_anchor_once(
		&self,
		anchor: &Anchor,
		disputed: &[(Seq, Hash)],
	) -> Result<()> {
		let mut tx = self.pool.begin().await?;
		let id = anchor.channel_id.0.to_vec();
		let index = i64::from(anchor.index);
		// The channel's lock, exclusive, orders this against record submissions to the
		// channel (in this process or another, which hold it shared): records committed
		// before are updated below, records of a submission that starts after find the
		// anchor complete and match it themselves (`adopt_anchored`). SQLite has one writer
		// at a time and needs no lock.
		if self.backend == Backend::Postgres {
			sqlx::query("SELECT pg_advisory_xact_lock($1)")
				.bind(channel_lock_key(&anchor.channel_id))
				.execute(&mut *tx)
				.await?;
		}
		for (seq, leaf) in disputed {
			let seq = seq_i64(*seq)?;
			sqlx::query(
				"UPDATE records SET wrong = 1 WHERE channel_id = $1 AND seq = $2 AND digest <> $3",
			)
			.bind(id.clone())
			.bind(seq)
			.bind(leaf.0.to_vec())
			.execute(&mut *tx)
			.await?;
		}
		sqlx::query(
			"UPDATE records SET anchor_index = $1 WHERE channel_id = $2 AND seq >= $3 AND seq < $4 \
			 AND anchor_index IS NULL AND wrong = 0",
		)
		.bind(index)
		.bind(id.clone())
		.bind(anchor.first_seq as i64)
		.bind(anchor.log.size.min(i64::MAX as u64) as i64)
		.execute(&mut *tx)
		.await?;
		sqlx::query("UPDATE anchors SET complete = 1 WHERE channel_id = $1 AND idx = $2")
			.bind(id)
			.bind(index)
			.execute(&mut *tx)
			.await?;
		tx.commit().await?;
		Ok(())
	}
}

impl Store {
	/// Store the chain's evidence for anchor `index` of `channel` (format 2): its block's hash
	/// and time, and the SCALE `ChainEvidence`. Kept as first stored.
	pub async fn put_evidence(
		&self,
		channel: &ChannelId,
		index: u32,
		block_hash: &Hash,
		block_time: u64,
		evidence: &[u8],
	) -> Result<()> {
		let _w = self.write_guard().await;
		sqlx::query(
			"INSERT INTO anchor_evidence (channel_id, idx, block_hash, block_time, evidence) \
			 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel_id, idx) DO NOTHING",
		)
		.bind(channel.0.to_vec())
		.bind(i64::from(index))
		.bind(block_hash.0.to_vec())
		.bind(block_time as i64)
		.bind(evidence.to_vec())
		.execute(&self.pool)
		.await?;
		Ok(())
	}

	/// The chain's evidence for anchor `index` of `channel`: block hash, block time, SCALE
	/// `ChainEvidence`.
	pub async fn evidence(
		&self,
		channel: &ChannelId,
		index: u32,
	) -> Result<Option<(Hash, u64, Vec<u8>)>> {
		let row = sqlx::query(
			"SELECT block_hash, block_time, evidence FROM anchor_evidence \
			 WHERE channel_id = $1 AND idx = $2",
		)
		.bind(channel.0.to_vec())
		.bind(i64::from(index))
		.fetch_optional(&self.pool)
		.await?;
		row.map(|r| {
			let time: i64 = r.try_get("block_time")?;
			Ok((
				hash_of(r.try_get("block_hash")?, "anchor_evidence.block_hash")?,
				time as u64,
				r.try_get("evidence")?,
			))
		})
		.transpose()
	}

	/// Accepted anchors whose chain evidence is not stored yet, oldest block first.
	pub async fn anchors_without_evidence(&self, limit: u32) -> Result<Vec<Anchor>> {
		let rows = sqlx::query(&format!(
			"SELECT {} FROM anchors a LEFT JOIN anchor_evidence e \
			 ON e.channel_id = a.channel_id AND e.idx = a.idx \
			 WHERE e.channel_id IS NULL ORDER BY a.block LIMIT $1",
			Self::ANCHOR_COLUMNS
		))
		.bind(i64::from(limit))
		.fetch_all(&self.pool)
		.await?;
		rows.iter().map(|r| Self::anchor_of(r).map(|a| a.anchor)).collect()
	}
}
