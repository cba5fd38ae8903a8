//! Record, anchor, possession and blob index storage: SQLite (default) or PostgreSQL, one set
//! of queries through `sqlx`'s `Any` driver, schema by migrations
//! (`migrations/{sqlite,postgres}`).
//!
//! Each party's record of a slot `(channel, seq)` is a row of its own: what the verifier
//! signed and what the requester signed are kept side by side, and neither can keep the
//! other out. The anchored log decides between them (`crate::anchors`): a record whose
//! digest is the anchored leaf gets `anchor_index`, one with another digest is marked
//! `wrong`.
//!
//! Layout: the types and the store's life here; `dialect` (SQLite and PostgreSQL
//! differences, retries), `group` (group commit), `records` (storing a batch, claims of a
//! digest), `data` (small data, blob index, possession), `anchors` (accepted anchors and
//! their check).
//!
//! Durability: a call returns only after its transaction committed. SQLite runs in WAL mode
//! with `synchronous=FULL` (a commit is on disk before it is acknowledged); PostgreSQL with
//! its default `synchronous_commit=on`.

use attest_primitives::{
	channel::{ChannelId, FirstRecord, ItemClaim, Party, SecondRecord, Seq},
	Anchor, Hash,
};
use codec::{Decode, Encode};
use sqlx::{
	any::{AnyConnectOptions, AnyPoolOptions},
	AnyPool, Executor, Row,
};
use std::{
	collections::{HashMap, HashSet},
	str::FromStr,
	sync::Arc,
	time::Duration,
};

mod anchors;
mod data;
mod dialect;
mod group;
mod records;
#[cfg(test)]
mod tests;

pub use attest_wire::Record;
use dialect::Backend;
use group::{Pending, PG_GROUP_WRITERS};

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
	/// The group transaction this submission was committed in failed (SQLite).
	#[error("database: the transaction of this submission's group failed: {0}")]
	Group(String),
	/// The database URL names no supported backend.
	#[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
	Url(String),
}

type Result<T> = std::result::Result<T, StoreError>;

/// The two parties of a channel, as the chain has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Parties {
	/// Who pays.
	pub requester: [u8; 32],
	/// Who attests.
	pub verifier: [u8; 32],
}

/// The `records.party` column of a party's record: 0 for the verifier's, 1 for the
/// requester's (the stored databases' encoding; not [`Party`]'s SCALE index).
fn party_column(party: Party) -> i64 {
	match party {
		Party::Verifier => 0,
		Party::Requester => 1,
	}
}

/// The party of a `records.party` column.
fn column_party(column: i64) -> Party {
	if column == 0 {
		Party::Verifier
	} else {
		Party::Requester
	}
}

/// Data stored with a batch of records, in the same transaction ([`Store::submit_with`]).
#[derive(Default, Debug, Clone)]
pub struct BatchData {
	/// Small data kept in the database: `(digest, bytes)`, the bytes checked against the
	/// digest by the caller.
	pub small: Vec<(Hash, Vec<u8>)>,
	/// Blobs the caller wrote (and made durable) in the blob store: `(digest, size)`.
	pub stored: Vec<(Hash, u64)>,
	/// `(channel, digest)`: the channel's requester proved it holds the bytes.
	pub possession: Vec<(ChannelId, Hash)>,
}

fn seq_i64(seq: Seq) -> Result<i64> {
	i64::try_from(seq).map_err(|_| StoreError::Corrupt("seq above i64::MAX"))
}

/// SCALE encoding of a record (what is stored).
pub(crate) fn scale(record: &Record) -> Vec<u8> {
	match record {
		Record::First(r) => r.encode(),
		Record::Second(r) => r.encode(),
	}
}

/// What storing a record did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
	/// Stored now.
	Stored,
	/// The same claim by the same party was stored before; nothing changed.
	AlreadyStored,
	/// The same party stored another claim for this slot before; that one is kept (a party
	/// cannot take back what it signed).
	Conflict(ItemClaim),
}

impl Outcome {
	/// The API's word for it.
	pub fn wire(&self) -> attest_wire::SubmitOutcome {
		match self {
			Outcome::Stored => attest_wire::SubmitOutcome::Stored,
			Outcome::AlreadyStored => attest_wire::SubmitOutcome::AlreadyStored,
			Outcome::Conflict(_) => attest_wire::SubmitOutcome::Conflict,
		}
	}
}

/// The answer for one stored record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
	/// What happened.
	pub outcome: Outcome,
	/// Other `(channel, seq)` slots that claim the record's digest.
	pub other_claims: u64,
	/// The other party's record of this slot claims this other digest: one of the two is
	/// wrong, and the anchored log will tell which.
	pub disputed: Option<Hash>,
}

/// One slot `(channel, seq)` claiming a digest, with the records that claim it there.
#[derive(Clone, Debug)]
pub struct Item {
	/// Channel of the item.
	pub channel_id: ChannelId,
	/// What was claimed (the payment hash from the verifier's record when there is one).
	pub claim: ItemClaim,
	/// The verifier's record, when it claims this digest.
	pub verifier_record: Option<FirstRecord>,
	/// When the verifier's record arrived (unix ms).
	pub verifier_at: Option<i64>,
	/// The requester's record, when it claims this digest.
	pub requester_record: Option<SecondRecord>,
	/// When the requester's record arrived (unix ms).
	pub requester_at: Option<i64>,
	/// Index of the anchor whose log holds this digest at `seq`, once checked.
	pub anchor_index: Option<u32>,
	/// That anchor (read with the claim).
	pub anchor: Option<Anchor>,
	/// The anchored log holds another digest at `seq`: these records are wrong.
	pub wrong: bool,
	/// The channel's requester proved it holds the data (uploaded it).
	pub possession: bool,
}

/// A stored record of a slot in an anchored log's range (for checking anchors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogRecord {
	/// Position in the channel's log.
	pub seq: Seq,
	/// Who signed it.
	pub party: Party,
	/// The digest it claims.
	pub digest: Hash,
	/// Already matched to an anchored log.
	pub anchored: bool,
}

/// An accepted anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnchorRow {
	/// The anchor as on chain.
	pub anchor: Anchor,
	/// Whether every item of the log is stored here and the digests give the root.
	pub complete: bool,
}

/// The store. Clones share the pool and the writer's place.
#[derive(Clone)]
pub struct Store {
	pool: AnyPool,
	backend: Backend,
	/// Writers' places: SQLite has one writer at a time, and its writers queue here instead
	/// of spinning on `SQLITE_BUSY`; on PostgreSQL, the groups of submissions committed at
	/// once (see [`Store::submit_with`]).
	writers: Arc<tokio::sync::Semaphore>,
	/// SQLite submissions waiting for the writer's place, committed as one group.
	queue: Arc<std::sync::Mutex<Vec<Pending>>>,
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

/// SQLite's page cache for the whole pool, MiB, unless configured (`--db-cache-mib`): it was
/// 64 MiB per connection (512 MiB for 8), which the long run showed the server's memory
/// growing into (docs/benchmarks.md).
pub const DEFAULT_CACHE_MIB: u32 = 64;

impl Store {
	/// Open (creating when missing) the database at `url` and bring its schema up to date.
	/// `sqlite://PATH` or `postgres://...`. SQLite's page cache is [`DEFAULT_CACHE_MIB`] for
	/// the whole pool.
	pub async fn open(url: &str, max_connections: u32) -> Result<Self> {
		Self::open_with_cache(url, max_connections, DEFAULT_CACHE_MIB).await
	}

	/// [`Store::open`] with SQLite's page cache `cache_mib` MiB for the whole pool, shared out
	/// among its `max_connections` connections (at least 1 MiB each).
	pub async fn open_with_cache(url: &str, max_connections: u32, cache_mib: u32) -> Result<Self> {
		// `cache_size` in KiB when negative, per connection.
		let cache_kib = (u64::from(cache_mib) * 1024 / u64::from(max_connections.max(1))).max(1024);
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
						let pragmas = format!(
							"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
							 PRAGMA busy_timeout=10000; PRAGMA cache_size=-{cache_kib}; \
							 PRAGMA temp_store=MEMORY;"
						);
						conn.execute(pragmas.as_str()).await?;
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
		// Check every incomplete anchor again once (a channel's version, which says when to,
		// is committed lazily on PostgreSQL: see `bump_versions`).
		sqlx::query("UPDATE anchors SET tried_version = -1 WHERE complete = 0")
			.execute(&pool)
			.await?;
		Ok(Store {
			pool,
			backend,
			writers: Arc::new(tokio::sync::Semaphore::new(match backend {
				Backend::Sqlite => 1,
				Backend::Postgres => PG_GROUP_WRITERS,
			})),
			queue: Arc::new(std::sync::Mutex::new(Vec::new())),
		})
	}

	/// Close the pool (waits for connections to be returned).
	pub async fn close(&self) {
		self.pool.close().await
	}

	/// Refresh the query planner's statistics (PostgreSQL `ANALYZE`, SQLite `PRAGMA
	/// optimize`): what autovacuum does on its own a while after a bulk load. Benchmarks call
	/// it after loading, so that they measure queries, not plans made for an empty table.
	pub async fn analyze(&self) -> Result<()> {
		let sql = match self.backend {
			Backend::Sqlite => "PRAGMA optimize",
			Backend::Postgres => "ANALYZE",
		};
		sqlx::query(sql).execute(&self.pool).await?;
		Ok(())
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

	/// Channels with records not yet matched to an anchored log, and the index of the next
	/// anchor to look for.
	pub async fn channels_to_watch(&self) -> Result<Vec<(ChannelId, u32)>> {
		let rows = sqlx::query(
			"SELECT c.channel_id, c.next_anchor FROM channels c WHERE EXISTS \
			 (SELECT 1 FROM records r WHERE r.channel_id = c.channel_id \
			  AND r.anchor_index IS NULL AND r.wrong = 0)",
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

	/// Totals for `/metrics`: (items with a first record, with a second record, anchors,
	/// blobs, blob bytes).
	pub async fn totals(&self) -> Result<[i64; 5]> {
		let row = sqlx::query(
			"SELECT (SELECT COUNT(*) FROM records WHERE party = 0) AS a, \
			 (SELECT COUNT(*) FROM records WHERE party = 1) AS b, (SELECT COUNT(*) FROM anchors) AS c, \
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
