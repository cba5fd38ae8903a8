//! Record, anchor and blob index storage: SQLite (default) or PostgreSQL, one set of queries
//! through `sqlx`'s `Any` driver, schema by migrations (`migrations/{sqlite,postgres}`).
//!
//! Durability: a call returns only after its transaction committed. SQLite runs in WAL mode
//! with `synchronous=FULL` (a commit is on disk before it is acknowledged); PostgreSQL with
//! its default `synchronous_commit=on`.

use attest_primitives::{
	channel::{ChannelId, FirstRecord, ItemClaim, SecondRecord, Seq},
	Anchor, Hash,
};
use codec::{Decode, Encode};
use sqlx::{
	any::{AnyConnectOptions, AnyPoolOptions},
	AnyPool, Executor, Row,
};
use std::{str::FromStr, time::Duration};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	/// The database refused or failed a query.
	#[error("database: {0}")]
	Db(#[from] sqlx::Error),
	/// A schema migration failed.
	#[error("migration: {0}")]
	Migrate(#[from] sqlx::migrate::MigrateError),
	/// A stored value does not decode (the database was edited by hand?).
	#[error("corrupt stored value in {0}")]
	Corrupt(&'static str),
	/// The database URL names no supported backend.
	#[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
	Url(String),
}

type Result<T> = std::result::Result<T, StoreError>;

/// Which database is behind the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
	/// A SQLite file.
	Sqlite,
	/// A PostgreSQL server.
	Postgres,
}

/// The two parties of a channel, as the chain has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Parties {
	/// Who pays.
	pub requester: [u8; 32],
	/// Who attests.
	pub verifier: [u8; 32],
}

/// A signature-checked record to store.
#[derive(Clone, Debug)]
pub enum Record {
	/// The verifier's record.
	First(FirstRecord),
	/// The requester's record; its data is a [`attest_primitives::channel::DataRef::Blob`]
	/// already in the blob store.
	Second(SecondRecord),
}

/// Rows per multi-row insert (6 parameters each; SQLite allows 32766 per statement).
const INSERT_CHUNK: usize = 500;

fn seq_i64(seq: Seq) -> Result<i64> {
	i64::try_from(seq).map_err(|_| StoreError::Corrupt("seq above i64::MAX"))
}

impl Record {
	fn scale(&self) -> Vec<u8> {
		match self {
			Record::First(r) => r.encode(),
			Record::Second(r) => r.encode(),
		}
	}
	fn channel_id(&self) -> &ChannelId {
		match self {
			Record::First(r) => &r.channel_id,
			Record::Second(r) => &r.channel_id,
		}
	}
	fn claim(&self) -> &ItemClaim {
		match self {
			Record::First(r) => &r.claim,
			Record::Second(r) => &r.claim,
		}
	}
}

/// What storing a record did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
	/// Stored now.
	Stored,
	/// The same claim by the same party was stored before; nothing changed.
	AlreadyStored,
	/// The slot `(channel, seq)` holds another claim; it was kept.
	Conflict(ItemClaim),
}

/// One attested item as stored.
#[derive(Clone, Debug)]
pub struct Item {
	/// Channel of the item.
	pub channel_id: ChannelId,
	/// What was claimed.
	pub claim: ItemClaim,
	/// The verifier's record, once uploaded.
	pub first: Option<FirstRecord>,
	/// When the first record arrived (unix ms).
	pub first_at: Option<i64>,
	/// The requester's record, once uploaded.
	pub second: Option<SecondRecord>,
	/// When the second record arrived (unix ms).
	pub second_at: Option<i64>,
	/// Index of the anchor holding the item, once anchored and checked.
	pub anchor_index: Option<u32>,
}

/// An accepted anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnchorRow {
	/// The anchor as on chain.
	pub anchor: Anchor,
	/// Whether every item of the range is stored here and the digests give the root.
	pub complete: bool,
}

/// The store.
pub struct Store {
	pool: AnyPool,
	backend: Backend,
	/// SQLite has one writer at a time; writers queue here instead of spinning on
	/// `SQLITE_BUSY`.
	write_lock: tokio::sync::Mutex<()>,
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
	std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.as_millis() as i64)
		.unwrap_or(0)
}

fn hash_of(bytes: Vec<u8>, what: &'static str) -> Result<Hash> {
	<[u8; 32]>::try_from(bytes.as_slice())
		.map(Hash)
		.map_err(|_| StoreError::Corrupt(what))
}

impl Store {
	/// Open (creating when missing) the database at `url` and bring its schema up to date.
	/// `sqlite://PATH` or `postgres://...`.
	pub async fn open(url: &str, max_connections: u32) -> Result<Self> {
		sqlx::any::install_default_drivers();
		let backend = if url.starts_with("sqlite:") {
			Backend::Sqlite
		} else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
			Backend::Postgres
		} else {
			return Err(StoreError::Url(url.to_string()));
		};
		let url = match backend {
			Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
			_ => url.to_string(),
		};
		let options = AnyConnectOptions::from_str(&url)?;
		let pool = AnyPoolOptions::new()
			.max_connections(max_connections)
			.acquire_timeout(Duration::from_secs(30))
			.after_connect(move |conn, _meta| {
				Box::pin(async move {
					if backend == Backend::Sqlite {
						conn.execute(
							"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
							 PRAGMA busy_timeout=10000; PRAGMA cache_size=-65536; \
							 PRAGMA temp_store=MEMORY;",
						)
						.await?;
					}
					Ok(())
				})
			})
			.connect_with(options)
			.await?;
		match backend {
			Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
			Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
		}
		Ok(Store { pool, backend, write_lock: tokio::sync::Mutex::new(()) })
	}

	/// The backend in use.
	pub fn backend(&self) -> Backend {
		self.backend
	}

	async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
		match self.backend {
			Backend::Sqlite => Some(self.write_lock.lock().await),
			Backend::Postgres => None,
		}
	}

	/// Close the pool (waits for connections to be returned).
	pub async fn close(&self) {
		self.pool.close().await
	}

	/// Whether the database answers.
	pub async fn ping(&self) -> Result<()> {
		sqlx::query("SELECT 1").execute(&self.pool).await?;
		Ok(())
	}

	/// The parties of a channel this server has seen.
	pub async fn channel(&self, id: &ChannelId) -> Result<Option<Parties>> {
		let row = sqlx::query("SELECT requester, verifier FROM channels WHERE channel_id = $1")
			.bind(id.0.to_vec())
			.fetch_optional(&self.pool)
			.await?;
		row.map(|r| {
			let requester = hash_of(r.try_get("requester")?, "channels.requester")?;
			let verifier = hash_of(r.try_get("verifier")?, "channels.verifier")?;
			Ok(Parties { requester: requester.0, verifier: verifier.0 })
		})
		.transpose()
	}

	/// Remember a channel's parties (as read from the chain).
	pub async fn put_channel(&self, id: &ChannelId, parties: &Parties) -> Result<()> {
		let _w = self.write_guard().await;
		sqlx::query(
			"INSERT INTO channels (channel_id, requester, verifier, next_anchor, seen_at) \
			 VALUES ($1, $2, $3, 0, $4) ON CONFLICT (channel_id) DO NOTHING",
		)
		.bind(id.0.to_vec())
		.bind(parties.requester.to_vec())
		.bind(parties.verifier.to_vec())
		.bind(now_ms())
		.execute(&self.pool)
		.await?;
		Ok(())
	}

	/// Channels with items not yet anchored, and the index of the next anchor to look for.
	pub async fn channels_to_watch(&self) -> Result<Vec<(ChannelId, u32)>> {
		let rows = sqlx::query(
			"SELECT c.channel_id, c.next_anchor FROM channels c WHERE EXISTS \
			 (SELECT 1 FROM items i WHERE i.channel_id = c.channel_id AND i.anchor_index IS NULL)",
		)
		.fetch_all(&self.pool)
		.await?;
		rows.into_iter()
			.map(|r| {
				let id = hash_of(r.try_get("channel_id")?, "channels.channel_id")?;
				let next: i64 = r.try_get("next_anchor")?;
				Ok((id, u32::try_from(next).map_err(|_| StoreError::Corrupt("next_anchor"))?))
			})
			.collect()
	}

	/// Store signature-checked records in one transaction; one outcome per record, in order.
	/// The second value counts the other `(channel, seq)` slots claiming the record's digest.
	///
	/// Records go in with multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING` (a few
	/// statements per thousand records); only records whose slot was taken already are
	/// compared one by one with what is stored.
	pub async fn submit(&self, records: &[Record]) -> Result<Vec<(Outcome, u64)>> {
		let _w = self.write_guard().await;
		let mut tx = self.pool.begin().await?;
		let mut outcomes: Vec<Option<Outcome>> = vec![None; records.len()];
		let now = now_ms();
		for (column, at_column, is_first) in
			[("first_record", "first_at", true), ("second_record", "second_at", false)]
		{
			let of_kind: Vec<usize> = (0..records.len())
				.filter(|&i| matches!(records[i], Record::First(_)) == is_first)
				.collect();
			for chunk in of_kind.chunks(INSERT_CHUNK) {
				let mut sql = format!(
					"INSERT INTO items (channel_id, seq, digest, payment_hash, {column}, {at_column}) VALUES "
				);
				for k in 0..chunk.len() {
					let b = k * 6;
					if k > 0 {
						sql.push(',');
					}
					sql.push_str(&format!(
						"(${},${},${},${},${},${})",
						b + 1,
						b + 2,
						b + 3,
						b + 4,
						b + 5,
						b + 6
					));
				}
				sql.push_str(" ON CONFLICT (channel_id, seq) DO NOTHING RETURNING channel_id, seq");
				let mut q = sqlx::query(&sql);
				for &i in chunk {
					let r = &records[i];
					let claim = r.claim();
					q = q
						.bind(r.channel_id().0.to_vec())
						.bind(seq_i64(claim.seq)?)
						.bind(claim.digest.0.to_vec())
						.bind(claim.payment_hash.0.to_vec())
						.bind(r.scale())
						.bind(now);
				}
				let inserted = q.fetch_all(&mut *tx).await?;
				let mut new_slots = std::collections::HashSet::with_capacity(inserted.len());
				for row in inserted {
					let id = hash_of(row.try_get("channel_id")?, "items.channel_id")?;
					let seq: i64 = row.try_get("seq")?;
					new_slots.insert((id, seq));
				}
				for &i in chunk {
					let r = &records[i];
					let slot = (*r.channel_id(), seq_i64(r.claim().seq)?);
					// A slot inserted by this statement belongs to the first record of the
					// chunk naming it; later duplicates compare with it below.
					if new_slots.remove(&slot) {
						outcomes[i] = Some(Outcome::Stored);
					} else {
						outcomes[i] =
							Some(Self::resolve(&mut tx, r, column, at_column, now).await?);
					}
				}
			}
		}
		// Other claims on the same digests, one grouped query per chunk.
		let mut counts: std::collections::HashMap<Hash, i64> = std::collections::HashMap::new();
		let mut digests: Vec<Hash> = records.iter().map(|r| r.claim().digest).collect();
		digests.sort();
		digests.dedup();
		for chunk in digests.chunks(INSERT_CHUNK * 6) {
			let params: Vec<String> = (1..=chunk.len()).map(|k| format!("${k}")).collect();
			let sql = format!(
				"SELECT digest, COUNT(*) AS n FROM items WHERE digest IN ({}) GROUP BY digest",
				params.join(",")
			);
			let mut q = sqlx::query(&sql);
			for d in chunk {
				q = q.bind(d.0.to_vec());
			}
			for row in q.fetch_all(&mut *tx).await? {
				counts.insert(hash_of(row.try_get("digest")?, "items.digest")?, row.try_get("n")?);
			}
		}
		tx.commit().await?;
		Ok(records
			.iter()
			.zip(outcomes)
			.map(|(r, o)| {
				let o = o.unwrap_or(Outcome::AlreadyStored);
				let n = counts.get(&r.claim().digest).copied().unwrap_or(0).max(0) as u64;
				// The record's own slot holds its digest unless the slot is another claim's.
				let others =
					if matches!(o, Outcome::Conflict(_)) { n } else { n.saturating_sub(1) };
				(o, others)
			})
			.collect())
	}

	/// A record whose slot exists: the same claim (store the record if this party's is
	/// missing) or a conflicting one.
	async fn resolve(
		tx: &mut sqlx::Transaction<'_, sqlx::Any>,
		record: &Record,
		column: &str,
		at_column: &str,
		now: i64,
	) -> Result<Outcome> {
		let claim = record.claim();
		let id = record.channel_id().0.to_vec();
		let seq = seq_i64(claim.seq)?;
		let row = sqlx::query(&format!(
			"SELECT digest, payment_hash, {column} AS rec FROM items WHERE channel_id = $1 AND seq = $2"
		))
		.bind(id.clone())
		.bind(seq)
		.fetch_one(&mut **tx)
		.await?;
		let stored = ItemClaim {
			seq: claim.seq,
			digest: hash_of(row.try_get("digest")?, "items.digest")?,
			payment_hash: hash_of(row.try_get("payment_hash")?, "items.payment_hash")?,
		};
		let existing: Option<Vec<u8>> = row.try_get("rec")?;
		if stored != *claim {
			return Ok(Outcome::Conflict(stored));
		}
		if existing.is_some() {
			return Ok(Outcome::AlreadyStored);
		}
		sqlx::query(&format!(
			"UPDATE items SET {column} = $1, {at_column} = $2 WHERE channel_id = $3 AND seq = $4 AND {column} IS NULL"
		))
		.bind(record.scale())
		.bind(now)
		.bind(id)
		.bind(seq)
		.execute(&mut **tx)
		.await?;
		Ok(Outcome::Stored)
	}

	fn item_of(row: &sqlx::any::AnyRow) -> Result<Item> {
		let channel_id = hash_of(row.try_get("channel_id")?, "items.channel_id")?;
		let seq: i64 = row.try_get("seq")?;
		let claim = ItemClaim {
			seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt("items.seq"))?,
			digest: hash_of(row.try_get("digest")?, "items.digest")?,
			payment_hash: hash_of(row.try_get("payment_hash")?, "items.payment_hash")?,
		};
		let first = row
			.try_get::<Option<Vec<u8>>, _>("first_record")?
			.map(|b| {
				FirstRecord::decode(&mut &b[..]).map_err(|_| StoreError::Corrupt("first_record"))
			})
			.transpose()?;
		let second = row
			.try_get::<Option<Vec<u8>>, _>("second_record")?
			.map(|b| {
				SecondRecord::decode(&mut &b[..]).map_err(|_| StoreError::Corrupt("second_record"))
			})
			.transpose()?;
		let anchor_index = row
			.try_get::<Option<i64>, _>("anchor_index")?
			.map(|i| u32::try_from(i).map_err(|_| StoreError::Corrupt("anchor_index")))
			.transpose()?;
		Ok(Item {
			channel_id,
			claim,
			first,
			first_at: row.try_get("first_at")?,
			second,
			second_at: row.try_get("second_at")?,
			anchor_index,
		})
	}

	const ITEM_COLUMNS: &'static str = "channel_id, seq, digest, payment_hash, first_record, \
		first_at, second_record, second_at, anchor_index";

	/// Every item claiming `digest`, oldest claim first.
	pub async fn items_by_digest(&self, digest: &Hash) -> Result<Vec<Item>> {
		let rows = sqlx::query(&format!(
			"SELECT {} FROM items WHERE digest = $1 \
			 ORDER BY COALESCE(first_at, second_at), channel_id, seq LIMIT 100",
			Self::ITEM_COLUMNS
		))
		.bind(digest.0.to_vec())
		.fetch_all(&self.pool)
		.await?;
		rows.iter().map(Self::item_of).collect()
	}

	/// Whether any item claims `digest` (blob uploads are only taken for claimed digests).
	pub async fn digest_claimed(&self, digest: &Hash) -> Result<bool> {
		let row = sqlx::query("SELECT 1 AS one FROM items WHERE digest = $1 LIMIT 1")
			.bind(digest.0.to_vec())
			.fetch_optional(&self.pool)
			.await?;
		Ok(row.is_some())
	}

	/// Items of `channel` claiming `digest`.
	pub async fn items_in_channel(&self, channel: &ChannelId, digest: &Hash) -> Result<Vec<Item>> {
		let rows = sqlx::query(&format!(
			"SELECT {} FROM items WHERE digest = $1 AND channel_id = $2 ORDER BY seq LIMIT 100",
			Self::ITEM_COLUMNS
		))
		.bind(digest.0.to_vec())
		.bind(channel.0.to_vec())
		.fetch_all(&self.pool)
		.await?;
		rows.iter().map(Self::item_of).collect()
	}

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

	fn anchor_of(row: &sqlx::any::AnyRow) -> Result<AnchorRow> {
		let idx: i64 = row.try_get("idx")?;
		let block: i64 = row.try_get("block")?;
		let first_seq: i64 = row.try_get("first_seq")?;
		let count: i64 = row.try_get("count")?;
		let complete: i64 = row.try_get("complete")?;
		Ok(AnchorRow {
			anchor: Anchor {
				channel_id: hash_of(row.try_get("channel_id")?, "anchors.channel_id")?,
				index: u32::try_from(idx).map_err(|_| StoreError::Corrupt("anchors.idx"))?,
				first_seq: first_seq as u64,
				log: attest_primitives::LogHead {
					size: (first_seq as u64).saturating_add(count as u64),
					root: hash_of(row.try_get("root")?, "anchors.root")?,
				},
				block: u32::try_from(block).map_err(|_| StoreError::Corrupt("anchors.block"))?,
			},
			complete: complete != 0,
		})
	}

	const ANCHOR_COLUMNS: &'static str = "channel_id, idx, first_seq, count, root, block, complete";

	/// An accepted anchor.
	pub async fn anchor(&self, channel: &ChannelId, index: u32) -> Result<Option<AnchorRow>> {
		let row = sqlx::query(&format!(
			"SELECT {} FROM anchors WHERE channel_id = $1 AND idx = $2",
			Self::ANCHOR_COLUMNS
		))
		.bind(channel.0.to_vec())
		.bind(i64::from(index))
		.fetch_optional(&self.pool)
		.await?;
		row.as_ref().map(Self::anchor_of).transpose()
	}

	/// The accepted anchor whose range holds item `seq` of `channel`.
	pub async fn anchor_covering(
		&self,
		channel: &ChannelId,
		seq: Seq,
	) -> Result<Option<AnchorRow>> {
		let row = sqlx::query(&format!(
			"SELECT {} FROM anchors WHERE channel_id = $1 AND first_seq <= $2 AND $2 < first_seq + count \
			 ORDER BY idx LIMIT 1",
			Self::ANCHOR_COLUMNS
		))
		.bind(channel.0.to_vec())
		.bind(seq as i64)
		.fetch_optional(&self.pool)
		.await?;
		row.as_ref().map(Self::anchor_of).transpose()
	}

	/// Anchors whose items are not all stored (or not yet matched to the root).
	pub async fn incomplete_anchors(&self) -> Result<Vec<Anchor>> {
		let rows = sqlx::query(&format!(
			"SELECT {} FROM anchors WHERE complete = 0 ORDER BY accepted_at LIMIT 1000",
			Self::ANCHOR_COLUMNS
		))
		.fetch_all(&self.pool)
		.await?;
		rows.iter().map(|r| Self::anchor_of(r).map(|a| a.anchor)).collect()
	}

	/// Digests of items `first_seq .. first_seq + count` of `channel` that have a first
	/// record, in sequence order.
	pub async fn range_digests(
		&self,
		channel: &ChannelId,
		first_seq: Seq,
		count: u64,
	) -> Result<Vec<(Seq, Hash)>> {
		let rows = sqlx::query(
			"SELECT seq, digest FROM items WHERE channel_id = $1 AND seq >= $2 AND seq < $3 \
			 ORDER BY seq",
		)
		.bind(channel.0.to_vec())
		.bind(first_seq as i64)
		.bind(first_seq.saturating_add(count) as i64)
		.fetch_all(&self.pool)
		.await?;
		rows.into_iter()
			.map(|r| {
				let seq: i64 = r.try_get("seq")?;
				Ok((seq as u64, hash_of(r.try_get("digest")?, "items.digest")?))
			})
			.collect()
	}

	/// Mark the items of `anchor` as anchored by it and the anchor as complete.
	pub async fn complete_anchor(&self, anchor: &Anchor) -> Result<()> {
		let _w = self.write_guard().await;
		let mut tx = self.pool.begin().await?;
		sqlx::query(
			"UPDATE items SET anchor_index = $1 WHERE channel_id = $2 AND seq >= $3 AND seq < $4 \
			 AND anchor_index IS NULL",
		)
		.bind(i64::from(anchor.index))
		.bind(anchor.channel_id.0.to_vec())
		.bind(anchor.first_seq as i64)
		.bind(anchor.log.size as i64)
		.execute(&mut *tx)
		.await?;
		sqlx::query("UPDATE anchors SET complete = 1 WHERE channel_id = $1 AND idx = $2")
			.bind(anchor.channel_id.0.to_vec())
			.bind(i64::from(anchor.index))
			.execute(&mut *tx)
			.await?;
		tx.commit().await?;
		Ok(())
	}

	/// Record that blob `digest` of `size` bytes is in the blob store.
	pub async fn put_blob(&self, digest: &Hash, size: u64) -> Result<()> {
		let _w = self.write_guard().await;
		sqlx::query(
			"INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) \
			 ON CONFLICT (digest) DO NOTHING",
		)
		.bind(digest.0.to_vec())
		.bind(size as i64)
		.bind(now_ms())
		.execute(&self.pool)
		.await?;
		Ok(())
	}

	/// Record many stored blobs in one transaction.
	pub async fn put_blobs(&self, blobs: &[(Hash, u64)]) -> Result<()> {
		if blobs.is_empty() {
			return Ok(());
		}
		let _w = self.write_guard().await;
		let now = now_ms();
		let mut tx = self.pool.begin().await?;
		for (digest, size) in blobs {
			sqlx::query(
				"INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) \
				 ON CONFLICT (digest) DO NOTHING",
			)
			.bind(digest.0.to_vec())
			.bind(*size as i64)
			.bind(now)
			.execute(&mut *tx)
			.await?;
		}
		tx.commit().await?;
		Ok(())
	}

	/// Remove blob `digest` from the index (the file is the caller's business).
	pub async fn forget_blob(&self, digest: &Hash) -> Result<()> {
		let _w = self.write_guard().await;
		sqlx::query("DELETE FROM blobs WHERE digest = $1")
			.bind(digest.0.to_vec())
			.execute(&self.pool)
			.await?;
		Ok(())
	}

	/// Size of blob `digest`, if stored.
	pub async fn blob(&self, digest: &Hash) -> Result<Option<u64>> {
		let row = sqlx::query("SELECT size FROM blobs WHERE digest = $1")
			.bind(digest.0.to_vec())
			.fetch_optional(&self.pool)
			.await?;
		row.map(|r| Ok(r.try_get::<i64, _>("size")? as u64)).transpose()
	}

	/// Totals for `/metrics`: (items with a first record, with a second record, anchors,
	/// blobs, blob bytes).
	pub async fn totals(&self) -> Result<[i64; 5]> {
		let row = sqlx::query(
			"SELECT (SELECT COUNT(first_record) FROM items) AS a, \
			 (SELECT COUNT(second_record) FROM items) AS b, (SELECT COUNT(*) FROM anchors) AS c, \
			 (SELECT COUNT(*) FROM blobs) AS d, (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM blobs) AS e",
		)
		.fetch_one(&self.pool)
		.await?;
		Ok([
			row.try_get("a")?,
			row.try_get("b")?,
			row.try_get("c")?,
			row.try_get("d")?,
			row.try_get("e")?,
		])
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_runtime::{MultiSignature, MultiSigner};

	fn rec(channel: u8, seq: u64, digest: u8) -> Record {
		Record::First(FirstRecord {
			channel_id: Hash([channel; 32]),
			claim: ItemClaim { seq, digest: Hash([digest; 32]), payment_hash: Hash([1; 32]) },
			verifier_signature: MultiSignature::Sr25519(sp_core::sr25519::Signature::from_raw(
				[seq as u8; 64],
			)),
			verifier: MultiSigner::Sr25519(sp_core::sr25519::Public::from_raw([2; 32])),
		})
	}

	async fn store() -> (tempfile::TempDir, Store) {
		let dir = tempfile::tempdir().expect("temp dir");
		let url = format!("sqlite://{}", dir.path().join("t.sqlite").display());
		let s = Store::open(&url, 4).await.expect("open");
		(dir, s)
	}

	#[tokio::test]
	async fn batch_outcomes_duplicates_and_conflicts() {
		let (_d, s) = store().await;
		let out = s
			.submit(&[rec(1, 0, 10), rec(1, 1, 11), rec(1, 0, 10), rec(1, 1, 99)])
			.await
			.expect("submit");
		let kinds: Vec<_> = out.iter().map(|(o, _)| o.clone()).collect();
		assert_eq!(kinds[0], Outcome::Stored);
		assert_eq!(kinds[1], Outcome::Stored);
		assert_eq!(kinds[2], Outcome::AlreadyStored, "a duplicate within one batch");
		assert!(
			matches!(kinds[3], Outcome::Conflict(c) if c.digest == Hash([11; 32])),
			"{:?}",
			kinds[3]
		);
		// The stored claim is kept.
		let items = s.items_by_digest(&Hash([11; 32])).await.expect("items");
		assert_eq!(items.len(), 1);
		assert!(s.items_by_digest(&Hash([99; 32])).await.expect("items").is_empty());
		// Same again: nothing changes.
		let again = s.submit(&[rec(1, 0, 10)]).await.expect("submit");
		assert_eq!(again, vec![(Outcome::AlreadyStored, 0)]);
	}

	#[tokio::test]
	async fn other_claims_are_counted() {
		let (_d, s) = store().await;
		assert_eq!(s.submit(&[rec(1, 0, 10)]).await.expect("submit"), vec![(Outcome::Stored, 0)]);
		// Another channel claims digest 10: one other claim, both kept.
		assert_eq!(s.submit(&[rec(2, 5, 10)]).await.expect("submit"), vec![(Outcome::Stored, 1)]);
		let items = s.items_by_digest(&Hash([10; 32])).await.expect("items");
		assert_eq!(items.len(), 2);
		assert_eq!(items[0].channel_id, Hash([1; 32]), "oldest first");
	}

	#[tokio::test]
	async fn anchors_complete_only_their_range() {
		let (_d, s) = store().await;
		let recs: Vec<_> = (0..5).map(|i| rec(3, i, 20 + i as u8)).collect();
		s.submit(&recs).await.expect("submit");
		let digests: Vec<Hash> = (0..3).map(|i| Hash([20 + i; 32])).collect();
		let log = attest_primitives::LogHead::of_digests(&digests);
		let anchor = Anchor { channel_id: Hash([3; 32]), index: 0, first_seq: 0, log, block: 9 };
		assert!(s.insert_anchor(&anchor).await.expect("insert"));
		assert!(!s.insert_anchor(&anchor).await.expect("insert again"), "idempotent");
		assert_eq!(s.incomplete_anchors().await.expect("incomplete"), vec![anchor]);
		s.complete_anchor(&anchor).await.expect("complete");
		assert!(s.incomplete_anchors().await.expect("incomplete").is_empty());
		let anchored: Vec<_> = s
			.range_digests(&Hash([3; 32]), 0, 5)
			.await
			.expect("range")
			.into_iter()
			.map(|(seq, _)| seq)
			.collect();
		assert_eq!(anchored, vec![0, 1, 2, 3, 4]);
		for (seq, want) in [(2u8, Some(0)), (3, None)] {
			let item = s.items_by_digest(&Hash([20 + seq; 32])).await.expect("items");
			assert_eq!(item[0].anchor_index, want, "item {seq}");
		}
		assert_eq!(
			s.anchor_covering(&Hash([3; 32]), 2).await.expect("covering").map(|a| a.anchor),
			Some(anchor)
		);
		assert_eq!(s.anchor_covering(&Hash([3; 32]), 3).await.expect("covering"), None);
	}

	#[tokio::test]
	async fn rejects_unknown_database_urls() {
		assert!(matches!(Store::open("mysql://x", 1).await, Err(StoreError::Url(_))));
	}
}
