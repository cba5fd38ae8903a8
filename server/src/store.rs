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
//! Durability: a call returns only after its transaction committed. SQLite runs in WAL mode
//! with `synchronous=FULL` (a commit is on disk before it is acknowledged); PostgreSQL with
//! its default `synchronous_commit=on`.

use attest_primitives::{
	channel::{ChannelId, FirstRecord, ItemClaim, SecondRecord, Seq},
	Anchor, Hash,
};
use codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
	Sqlite,
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

/// Which party signed a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Party {
	/// The verifier (first records).
	Verifier = 0,
	/// The requester (second records).
	Requester = 1,
}

/// A signed record, as the API takes it (`{"first": {...}}` or `{"second": {...}}`) and as
/// the store keeps it. Stored second records refer to their data as a
/// [`attest_primitives::channel::DataRef::Blob`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Record {
	/// The verifier's record.
	First(FirstRecord),
	/// The requester's record.
	Second(SecondRecord),
}

/// Count a submission of records in channel `$1`, when it has anchors still to complete
/// (only those are checked again when the version moves; an anchor accepted later is
/// checked anyway).
/// Groups of submissions committed at once on PostgreSQL (each in a transaction of its own).
const PG_GROUP_WRITERS: usize = 2;

const BUMP_VERSION: &str = "UPDATE channels SET version = version + 1 WHERE channel_id = $1 \
	AND EXISTS (SELECT 1 FROM anchors a WHERE a.channel_id = $1 AND a.complete = 0)";

/// Run a transaction `run` again (after a short pause) while PostgreSQL aborts it for a
/// deadlock or a serialization failure, at most [`TX_ATTEMPTS`] more times.
async fn retrying<T, F, Fut>(mut run: F) -> Result<T>
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = Result<T>>,
{
	let mut attempt = 0;
	loop {
		match run().await {
			Err(e) if attempt < TX_ATTEMPTS && retryable(&e) => {
				attempt += 1;
				tracing::debug!("{e}; running the transaction again ({attempt})");
				tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
			},
			other => return other,
		}
	}
}

/// The key of a channel's PostgreSQL advisory lock: its id's first 8 bytes (channel ids are
/// hashes; two channels sharing a key only wait for each other now and then).
fn channel_lock_key(id: &ChannelId) -> i64 {
	let mut key = [0u8; 8];
	key.copy_from_slice(&id.0[..8]);
	i64::from_le_bytes(key)
}

/// How many times a transaction that PostgreSQL aborted for a deadlock or a serialization
/// failure is run again.
const TX_ATTEMPTS: u32 = 5;

/// Whether `e` aborted a transaction that can simply run again (PostgreSQL's deadlock
/// detected, 40P01, and serialization failure, 40001).
fn retryable(e: &StoreError) -> bool {
	match e {
		StoreError::Db(e) => e
			.as_database_error()
			.and_then(|d| d.code())
			.is_some_and(|c| c == "40P01" || c == "40001"),
		_ => false,
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

impl Backend {
	/// Rows per multi-row statement. sqlx's SQLite driver slows down more than linearly
	/// with a statement's parameters (measured: 1,000 records in 500-row statements 45 ms,
	/// in 25-row statements 10 ms); PostgreSQL prefers few large statements.
	fn rows_per_statement(self) -> usize {
		match self {
			Backend::Sqlite => 32,
			Backend::Postgres => INSERT_CHUNK,
		}
	}
}

/// `($1,..,$cols),(..)` for a multi-row insert of `rows` rows; on SQLite anonymous `?`s. SQLite
/// keeps the names of numbered (`?N`) and named (`$N`) parameters in a list that
/// `sqlite3_bind_parameter_name` scans, and sqlx asks for every parameter's name on every
/// execution: a statement of n numbered parameters cost n²/2 steps of that scan (2% of the
/// server's CPU end to end, measured), anonymous ones cost nothing there.
fn placeholders(backend: Backend, rows: usize, cols: usize) -> String {
	let mut sql = String::with_capacity(rows * cols * 5);
	for k in 0..rows {
		if k > 0 {
			sql.push(',');
		}
		sql.push('(');
		for c in 0..cols {
			if c > 0 {
				sql.push(',');
			}
			match backend {
				Backend::Sqlite => sql.push('?'),
				Backend::Postgres => sql.push_str(&format!("${}", k * cols + c + 1)),
			}
		}
		sql.push(')');
	}
	sql
}

/// Hex digits (either case) to bytes through a table: `None` on an odd length or a non-hex
/// digit. The hex crate's decoders check and branch per digit; a proof's leaves are 64,000
/// digits for a log of 1,000 items (11% of a proof's time with `hex::decode_to_slice`).
fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
	const BAD: u8 = 0xff;
	const TABLE: [u8; 256] = {
		let mut t = [BAD; 256];
		let mut i = 0;
		while i < 10 {
			t[b'0' as usize + i] = i as u8;
			i += 1;
		}
		let mut i = 0;
		while i < 6 {
			t[b'a' as usize + i] = 10 + i as u8;
			t[b'A' as usize + i] = 10 + i as u8;
			i += 1;
		}
		t
	};
	if text.len() & 1 != 0 {
		return None;
	}
	let mut out = Vec::with_capacity(text.len() / 2);
	let mut bad = 0u8;
	for pair in text.chunks_exact(2) {
		let (hi, lo) = (TABLE[pair[0] as usize], TABLE[pair[1] as usize]);
		bad |= (hi | lo) & 0xf0;
		out.push(hi << 4 | (lo & 0x0f));
	}
	(bad == 0).then_some(out)
}

/// Rows per multi-row insert (7 parameters each; SQLite allows 32766 per statement).
const INSERT_CHUNK: usize = 500;

fn seq_i64(seq: Seq) -> Result<i64> {
	i64::try_from(seq).map_err(|_| StoreError::Corrupt("seq above i64::MAX"))
}

impl Record {
	/// SCALE encoding (what is stored).
	pub fn scale(&self) -> Vec<u8> {
		match self {
			Record::First(r) => r.encode(),
			Record::Second(r) => r.encode(),
		}
	}
	/// Channel of the record.
	pub fn channel_id(&self) -> ChannelId {
		match self {
			Record::First(r) => r.channel_id,
			Record::Second(r) => r.channel_id,
		}
	}
	/// What the record claims.
	pub fn claim(&self) -> &ItemClaim {
		match self {
			Record::First(r) => &r.claim,
			Record::Second(r) => &r.claim,
		}
	}
	/// Who signs this kind of record.
	pub fn party(&self) -> Party {
		match self {
			Record::First(_) => Party::Verifier,
			Record::Second(_) => Party::Requester,
		}
	}
	/// `first` or `second`.
	pub fn kind(&self) -> &'static str {
		match self {
			Record::First(_) => "first",
			Record::Second(_) => "second",
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
	/// The same party stored another claim for this slot before; that one is kept (a party
	/// cannot take back what it signed).
	Conflict(ItemClaim),
}

impl Outcome {
	/// `stored`, `already_stored` or `conflict` (the API's word for it).
	pub fn word(&self) -> &'static str {
		match self {
			Outcome::Stored => "stored",
			Outcome::AlreadyStored => "already_stored",
			Outcome::Conflict(_) => "conflict",
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
	pub first: Option<FirstRecord>,
	/// When the first record arrived (unix ms).
	pub first_at: Option<i64>,
	/// The requester's record, when it claims this digest.
	pub second: Option<SecondRecord>,
	/// When the second record arrived (unix ms).
	pub second_at: Option<i64>,
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

/// A submission waiting to be committed with its group.
struct Pending {
	records: Vec<Record>,
	data: BatchData,
	reply: Reply,
}

/// Where a grouped submission's answers go.
type Reply = tokio::sync::oneshot::Sender<Result<(Vec<Submitted>, u64)>>;

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

	async fn write_guard(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
		match self.backend {
			// Never closed: no error to see.
			Backend::Sqlite => self.writers.acquire().await.ok(),
			Backend::Postgres => None,
		}
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

	/// Store signature-checked records in one transaction; one answer per record, in order.
	pub async fn submit(&self, records: &[Record]) -> Result<Vec<Submitted>> {
		Ok(self.submit_with(records, &BatchData::default()).await?.0)
	}

	/// Store signature-checked records and the data that came with them in one transaction:
	/// the small data's bytes, the index rows of blobs already in the blob store, and the
	/// channels' proofs of possession commit together with the records or not at all. One
	/// answer per record, in order, and the bytes of data new to this server.
	///
	/// Records go in with multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING` (a few
	/// statements per thousand records); only records whose party's slot was taken already
	/// are compared one by one with what is stored. A record in a slot whose anchored digest
	/// is known is matched to it at once (anchored, or marked wrong).
	///
	/// Several server processes may share one PostgreSQL database: rows are written in one
	/// order (records by slot, blobs by digest, channels by id), a channel's row is locked
	/// before its records are matched to anchors (as [`Store::complete_anchor`] does), and a
	/// transaction that PostgreSQL still aborts (deadlock, serialization failure) is run
	/// again.
	///
	/// Submissions commit in groups: those that arrive while every writer's place is taken
	/// (SQLite has one, PostgreSQL [`PG_GROUP_WRITERS`]) wait, and the next writer commits
	/// all of them in one transaction (one `fsync` for many requests; each still gets its own
	/// answers, and none is answered before the group's commit).
	pub async fn submit_with(
		&self,
		records: &[Record],
		data: &BatchData,
	) -> Result<(Vec<Submitted>, u64)> {
		self.submit_grouped(records, data).await
	}

	/// [`Store::submit_with`] on SQLite: queue, then commit the whole queue as one group.
	///
	/// A submission waits for whichever comes first: its answer (an earlier writer took it
	/// into its group) or the writer's place (then it takes the whole queue). Waiting for the
	/// place alone made every submission queue up for a turn at the writer even when its
	/// records were committed already, so groups stayed at one submission each. The group
	/// is committed by a task of its own, so a request that goes away (a client that
	/// disconnects, a timeout) never cancels the commit of the others in its group.
	async fn submit_grouped(
		&self,
		records: &[Record],
		data: &BatchData,
	) -> Result<(Vec<Submitted>, u64)> {
		let (reply, mut answer) = tokio::sync::oneshot::channel();
		let pending = Pending { records: records.to_vec(), data: data.clone(), reply };
		self.queue
			.lock()
			.map_err(|_| StoreError::Group("queue poisoned".into()))?
			.push(pending);
		let stopped = |_| StoreError::Group("the group's writer stopped".into());
		tokio::select! {
			biased;
			done = &mut answer => return done.map_err(stopped)?,
			place = self.writers.clone().acquire_owned() => {
				let group = match self.queue.lock() {
					Ok(mut q) => std::mem::take(&mut *q),
					Err(_) => return Err(StoreError::Group("queue poisoned".into())),
				};
				// Empty: the writer before this one committed this submission with its group.
				if !group.is_empty() {
					let writer = self.clone();
					tokio::spawn(async move {
						writer.commit_group(group).await;
						drop(place);
					});
				}
			},
		}
		answer.await.map_err(stopped)?
	}

	/// Commit queued submissions in one transaction and answer each.
	async fn commit_group(&self, group: Vec<Pending>) {
		let mut all = Vec::with_capacity(group.iter().map(|p| p.records.len()).sum());
		let mut all_data = BatchData::default();
		let replies: Vec<(usize, Reply)> = group
			.into_iter()
			.map(|mut p| {
				let n = p.records.len();
				all.append(&mut p.records);
				all_data.small.append(&mut p.data.small);
				all_data.stored.append(&mut p.data.stored);
				all_data.possession.append(&mut p.data.possession);
				(n, p.reply)
			})
			.collect();
		match self.submit_retrying(&all, &all_data).await {
			Ok((answers, new_bytes)) => {
				let mut answers = answers.into_iter();
				for (k, (n, reply)) in replies.into_iter().enumerate() {
					let mine: Vec<Submitted> = answers.by_ref().take(n).collect();
					// The group's new bytes are counted once, with its first request.
					let _ = reply.send(Ok((mine, if k == 0 { new_bytes } else { 0 })));
				}
			},
			Err(e) => {
				let msg = e.to_string();
				for (_, reply) in replies {
					let _ = reply.send(Err(StoreError::Group(msg.clone())));
				}
			},
		}
	}

	/// Run the submission's transaction, again when PostgreSQL aborted it for a deadlock or a
	/// serialization failure.
	async fn submit_retrying(
		&self,
		records: &[Record],
		data: &BatchData,
	) -> Result<(Vec<Submitted>, u64)> {
		retrying(|| self.submit_once(records, data)).await
	}

	async fn submit_once(
		&self,
		records: &[Record],
		data: &BatchData,
	) -> Result<(Vec<Submitted>, u64)> {
		// The batch's channels and slot ranges, in one order (the order of every lock).
		let mut ranges: std::collections::BTreeMap<ChannelId, (i64, i64)> = Default::default();
		for r in records {
			let seq = seq_i64(r.claim().seq)?;
			let e = ranges.entry(r.channel_id()).or_insert((seq, seq));
			e.0 = e.0.min(seq);
			e.1 = e.1.max(seq);
		}
		let mut tx = self.pool.begin().await?;
		if self.backend == Backend::Postgres {
			// Shared: submissions never wait for each other here, only for an anchor being
			// completed in the channel (see `complete_anchor_once`).
			for id in ranges.keys() {
				sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
					.bind(channel_lock_key(id))
					.execute(&mut *tx)
					.await?;
			}
		}
		let new_bytes = Self::insert_data(&mut tx, self.backend, data).await?;
		let mut outcomes: Vec<Option<Outcome>> = vec![None; records.len()];
		let now = now_ms();
		let mut order: Vec<usize> = (0..records.len()).collect();
		order.sort_by_key(|&i| {
			let r = &records[i];
			(r.channel_id(), r.claim().seq, r.party() as u8)
		});
		// SQLite (one writer, this one): the slots taken already are read first and the
		// rows go in without RETURNING, which costs sqlx a message per row. PostgreSQL
		// (other processes may insert the same slots meanwhile): RETURNING says which rows
		// this statement inserted.
		let taken = match self.backend {
			Backend::Sqlite => Some(Self::taken_slots(&mut tx, records).await?),
			Backend::Postgres => None,
		};
		let mut inserted_here = HashSet::new();
		for chunk in order.chunks(self.backend.rows_per_statement()) {
			let sql = format!(
				"INSERT INTO records (channel_id, seq, party, digest, payment_hash, record, at) \
				 VALUES {} ON CONFLICT (channel_id, seq, party) DO NOTHING{}",
				placeholders(self.backend, chunk.len(), 7),
				if taken.is_none() { " RETURNING channel_id, seq, party" } else { "" }
			);
			let mut q = sqlx::query(&sql);
			for &i in chunk {
				let r = &records[i];
				let claim = r.claim();
				q = q
					.bind(r.channel_id().0.to_vec())
					.bind(seq_i64(claim.seq)?)
					.bind(r.party() as i64)
					.bind(claim.digest.0.to_vec())
					.bind(claim.payment_hash.0.to_vec())
					.bind(r.scale())
					.bind(now);
			}
			let slot_of = |r: &Record| -> Result<(ChannelId, i64, i64)> {
				Ok((r.channel_id(), seq_i64(r.claim().seq)?, r.party() as i64))
			};
			let new_slots: HashSet<(ChannelId, i64, i64)> = match &taken {
				Some(taken) => {
					q.execute(&mut *tx).await?;
					let mut new = HashSet::new();
					for &i in chunk {
						let slot = slot_of(&records[i])?;
						if !taken.contains(&slot) {
							new.insert(slot);
						}
					}
					new
				},
				None => {
					let mut new = HashSet::new();
					for row in q.fetch_all(&mut *tx).await? {
						let id = hash_of(row.try_get("channel_id")?, "records.channel_id")?;
						new.insert((id, row.try_get("seq")?, row.try_get("party")?));
					}
					new
				},
			};
			for &i in chunk {
				let r = &records[i];
				let slot = slot_of(r)?;
				// A slot inserted by this batch belongs to its first record naming it (rows
				// go in in a stable order); later duplicates compare with it.
				outcomes[i] = Some(if new_slots.contains(&slot) && inserted_here.insert(slot) {
					Outcome::Stored
				} else {
					Self::compare(&mut tx, r).await?
				});
			}
		}
		// Per channel: the version that makes incomplete anchors be checked again (SQLite
		// here; PostgreSQL after the commit, see below), slots whose anchored digest is known,
		// and the slots where the two parties' records differ.
		let mut differing: HashMap<(ChannelId, Seq, i64), Hash> = HashMap::new();
		for (id, (lo, hi)) in &ranges {
			let row = sqlx::query(
				"SELECT CAST(COALESCE(MAX(CASE WHEN complete = 1 THEN first_seq + count END), 0) \
				 AS BIGINT) AS anchored_end, \
				 CAST(COUNT(CASE WHEN complete = 0 THEN 1 END) AS BIGINT) AS incomplete \
				 FROM anchors WHERE channel_id = $1",
			)
			.bind(id.0.to_vec())
			.fetch_one(&mut *tx)
			.await?;
			let anchored_end: i64 = row.try_get("anchored_end")?;
			let incomplete: i64 = row.try_get("incomplete")?;
			// SQLite: no anchor is accepted while this writer holds its place, so the count
			// just read decides.
			if self.backend == Backend::Sqlite && incomplete > 0 {
				sqlx::query(BUMP_VERSION).bind(id.0.to_vec()).execute(&mut *tx).await?;
			}
			if *lo < anchored_end {
				Self::adopt_anchored(&mut tx, id, *lo, *hi).await?;
			}
			let rows = sqlx::query(
				"SELECT o.seq, o.party, o.digest FROM records o JOIN records m \
				 ON m.channel_id = o.channel_id AND m.seq = o.seq AND m.party <> o.party \
				 WHERE o.channel_id = $1 AND o.seq >= $2 AND o.seq <= $3 AND o.digest <> m.digest",
			)
			.bind(id.0.to_vec())
			.bind(*lo)
			.bind(*hi)
			.fetch_all(&mut *tx)
			.await?;
			for row in rows {
				let seq: i64 = row.try_get("seq")?;
				let party: i64 = row.try_get("party")?;
				let digest = hash_of(row.try_get("digest")?, "records.digest")?;
				differing.insert((*id, seq as u64, party), digest);
			}
		}
		// Slots claiming each digest, where more than one does: one grouped query per chunk.
		let mut counts: HashMap<Hash, i64> = HashMap::new();
		let mut digests: Vec<Hash> = records.iter().map(|r| r.claim().digest).collect();
		digests.sort();
		digests.dedup();
		for chunk in digests.chunks(self.backend.rows_per_statement() * 4) {
			let sql = format!(
				"SELECT digest, COUNT(*) AS n FROM (SELECT DISTINCT digest, channel_id, seq \
				 FROM records WHERE digest IN {}) t GROUP BY digest HAVING COUNT(*) > 1",
				placeholders(self.backend, 1, chunk.len())
			);
			let mut q = sqlx::query(&sql);
			for d in chunk {
				q = q.bind(d.0.to_vec());
			}
			for row in q.fetch_all(&mut *tx).await? {
				counts
					.insert(hash_of(row.try_get("digest")?, "records.digest")?, row.try_get("n")?);
			}
		}
		// A conflicting record's own slot holds another digest: what the other party's
		// record of the slot says, and the exact count of slots claiming the digest.
		let mut conflicts: HashMap<usize, (Option<Hash>, i64)> = HashMap::new();
		for (i, o) in outcomes.iter().enumerate() {
			if let Some(Outcome::Conflict(_)) = o {
				let r = &records[i];
				let other = sqlx::query_scalar::<_, Vec<u8>>(
					"SELECT digest FROM records WHERE channel_id = $1 AND seq = $2 AND party = $3",
				)
				.bind(r.channel_id().0.to_vec())
				.bind(seq_i64(r.claim().seq)?)
				.bind(1 - r.party() as i64)
				.fetch_optional(&mut *tx)
				.await?
				.map(|d| hash_of(d, "records.digest"))
				.transpose()?;
				let n: i64 = sqlx::query_scalar(
					"SELECT COUNT(*) FROM (SELECT DISTINCT channel_id, seq FROM records \
					 WHERE digest = $1) t",
				)
				.bind(r.claim().digest.0.to_vec())
				.fetch_one(&mut *tx)
				.await?;
				conflicts.insert(i, (other, n));
			}
		}
		tx.commit().await?;
		if self.backend == Backend::Postgres {
			self.bump_versions(ranges.keys()).await?;
		}
		let submitted = records
			.iter()
			.zip(outcomes)
			.enumerate()
			.map(|(i, (r, o))| {
				let claim = r.claim();
				let other_party = 1 - r.party() as i64;
				let (other, n, own_slot_has_it) = match conflicts.get(&i) {
					// The own record holds another digest; the slot has this one only if the
					// other party's record says it.
					Some((other, n)) => (*other, *n, *other == Some(claim.digest)),
					// The own record holds this digest: the other party's is listed only
					// where it differs.
					None => (
						differing.get(&(r.channel_id(), claim.seq, other_party)).copied(),
						counts.get(&claim.digest).copied().unwrap_or(1),
						true,
					),
				};
				Submitted {
					outcome: o.unwrap_or(Outcome::AlreadyStored),
					other_claims: (n.max(0) as u64).saturating_sub(u64::from(own_slot_has_it)),
					disputed: other.filter(|d| *d != claim.digest),
				}
			})
			.collect();
		Ok((submitted, new_bytes))
	}

	/// The data part of [`Store::submit_with`], inside its transaction: small data's bytes,
	/// index rows of blobs in the blob store, possession. Returns the bytes new here.
	async fn insert_data(
		tx: &mut sqlx::Transaction<'_, sqlx::Any>,
		backend: Backend,
		data: &BatchData,
	) -> Result<u64> {
		let now = now_ms();
		let mut new_bytes = 0u64;
		// The same digest twice in one statement is harmless (ON CONFLICT) but sends its
		// bytes twice: keep the first.
		let mut seen = HashSet::new();
		let mut small: Vec<&(Hash, Vec<u8>)> =
			data.small.iter().filter(|(d, _)| seen.insert(*d)).collect();
		small.sort_unstable_by_key(|(d, _)| *d);
		let mut stored = data.stored.clone();
		stored.sort_unstable_by_key(|(d, _)| *d);
		// Rows of at most ~4 MiB of bytes each statement (PostgreSQL's and SQLite's limits
		// are far above; this bounds one statement's memory).
		let mut start = 0;
		while start < small.len() {
			let mut end = start;
			let mut bytes = 0usize;
			while end < small.len()
				&& end - start < backend.rows_per_statement()
				&& (bytes < 4 << 20 || end == start)
			{
				bytes += small[end].1.len();
				end += 1;
			}
			let sql = format!(
				"INSERT INTO blobs (digest, size, created_at, data) VALUES {} \
				 ON CONFLICT (digest) DO NOTHING RETURNING size",
				placeholders(backend, end - start, 4)
			);
			let mut q = sqlx::query(&sql);
			for (digest, bytes) in &small[start..end] {
				q = q
					.bind(digest.0.to_vec())
					.bind(bytes.len() as i64)
					.bind(now)
					.bind(bytes.clone());
			}
			for row in q.fetch_all(&mut **tx).await? {
				new_bytes += row.try_get::<i64, _>("size")?.max(0) as u64;
			}
			start = end;
		}
		for chunk in stored.chunks(backend.rows_per_statement()) {
			let sql = format!(
				"INSERT INTO blobs (digest, size, created_at) VALUES {} \
				 ON CONFLICT (digest) DO NOTHING RETURNING size",
				placeholders(backend, chunk.len(), 3)
			);
			let mut q = sqlx::query(&sql);
			for (digest, size) in chunk {
				q = q.bind(digest.0.to_vec()).bind(*size as i64).bind(now);
			}
			for row in q.fetch_all(&mut **tx).await? {
				new_bytes += row.try_get::<i64, _>("size")?.max(0) as u64;
			}
		}
		let mut seen = HashSet::new();
		let mut proven: Vec<&(ChannelId, Hash)> =
			data.possession.iter().filter(|p| seen.insert(**p)).collect();
		proven.sort_unstable();
		for chunk in proven.chunks(backend.rows_per_statement()) {
			let sql = format!(
				"INSERT INTO possession (channel_id, digest, proven_at) VALUES {} \
				 ON CONFLICT (channel_id, digest) DO NOTHING",
				placeholders(backend, chunk.len(), 3)
			);
			let mut q = sqlx::query(&sql);
			for (channel, digest) in chunk {
				q = q.bind(channel.0.to_vec()).bind(digest.0.to_vec()).bind(now);
			}
			q.execute(&mut **tx).await?;
		}
		Ok(new_bytes)
	}

	/// PostgreSQL: count a submission in each channel's version (which makes its incomplete
	/// anchors be checked again) after the records' commit, one statement per channel,
	/// committed without waiting for the disk: the row is a hot spot that every submission
	/// to the channel writes, and inside the records' transaction it would make them commit
	/// one after another. A version lost in a crash costs nothing: at start every incomplete
	/// anchor is checked again ([`Store::open`]).
	async fn bump_versions<'a>(&self, channels: impl Iterator<Item = &'a ChannelId>) -> Result<()> {
		for id in channels {
			// `set_config(.., true)` sets synchronous_commit for this statement's own
			// (implicit) transaction only.
			sqlx::query(&format!(
				"WITH quiet AS (SELECT set_config('synchronous_commit', 'off', true) AS v) \
				 {BUMP_VERSION} AND EXISTS (SELECT 1 FROM quiet)"
			))
			.bind(id.0.to_vec())
			.execute(&self.pool)
			.await?;
		}
		Ok(())
	}

	/// The slots of `records` that hold a record already: one range query per channel and
	/// party (a batch is mostly one party's, and mostly new: usually no row comes back).
	async fn taken_slots(
		tx: &mut sqlx::Transaction<'_, sqlx::Any>,
		records: &[Record],
	) -> Result<HashSet<(ChannelId, i64, i64)>> {
		let mut ranges: std::collections::BTreeMap<(ChannelId, i64), (i64, i64)> =
			Default::default();
		for r in records {
			let seq = seq_i64(r.claim().seq)?;
			let e = ranges.entry((r.channel_id(), r.party() as i64)).or_insert((seq, seq));
			e.0 = e.0.min(seq);
			e.1 = e.1.max(seq);
		}
		let mut taken = HashSet::new();
		for ((id, party), (lo, hi)) in ranges {
			let rows = sqlx::query(
				"SELECT seq FROM records WHERE channel_id = $1 AND party = $2 AND seq >= $3 \
				 AND seq <= $4",
			)
			.bind(id.0.to_vec())
			.bind(party)
			.bind(lo)
			.bind(hi)
			.fetch_all(&mut **tx)
			.await?;
			for row in rows {
				taken.insert((id, row.try_get("seq")?, party));
			}
		}
		Ok(taken)
	}

	/// A record whose party's slot exists: the same claim, or another one (kept).
	async fn compare(
		tx: &mut sqlx::Transaction<'_, sqlx::Any>,
		record: &Record,
	) -> Result<Outcome> {
		let claim = record.claim();
		let row = sqlx::query(
			"SELECT digest, payment_hash FROM records WHERE channel_id = $1 AND seq = $2 \
			 AND party = $3",
		)
		.bind(record.channel_id().0.to_vec())
		.bind(seq_i64(claim.seq)?)
		.bind(record.party() as i64)
		.fetch_one(&mut **tx)
		.await?;
		let stored = ItemClaim {
			seq: claim.seq,
			digest: hash_of(row.try_get("digest")?, "records.digest")?,
			payment_hash: hash_of(row.try_get("payment_hash")?, "records.payment_hash")?,
		};
		Ok(if stored == *claim { Outcome::AlreadyStored } else { Outcome::Conflict(stored) })
	}

	/// Records of slots `lo..=hi` of `channel` that arrived after the slot's anchored digest
	/// was known: the same digest is anchored too, another one is wrong.
	async fn adopt_anchored(
		tx: &mut sqlx::Transaction<'_, sqlx::Any>,
		channel: &ChannelId,
		lo: i64,
		hi: i64,
	) -> Result<()> {
		const SAME: &str = "FROM records o WHERE o.channel_id = records.channel_id \
			AND o.seq = records.seq AND o.anchor_index IS NOT NULL";
		sqlx::query(&format!(
			"UPDATE records SET anchor_index = (SELECT MIN(o.anchor_index) {SAME} \
			 AND o.digest = records.digest) \
			 WHERE channel_id = $1 AND seq >= $2 AND seq <= $3 AND anchor_index IS NULL \
			 AND wrong = 0 AND EXISTS (SELECT 1 {SAME} AND o.digest = records.digest)"
		))
		.bind(channel.0.to_vec())
		.bind(lo)
		.bind(hi)
		.execute(&mut **tx)
		.await?;
		sqlx::query(&format!(
			"UPDATE records SET wrong = 1 WHERE channel_id = $1 AND seq >= $2 AND seq <= $3 \
			 AND anchor_index IS NULL AND wrong = 0 \
			 AND EXISTS (SELECT 1 {SAME} AND o.digest <> records.digest)"
		))
		.bind(channel.0.to_vec())
		.bind(lo)
		.bind(hi)
		.execute(&mut **tx)
		.await?;
		Ok(())
	}

	/// Slots claiming `digest`, at most `limit` from `offset`, the first attester first:
	/// anchored claims by the block of their anchor (the earliest anchor is the evidence of
	/// who held the data first; within one block by channel id and seq, since the anchor's
	/// position in its block is not recorded here yet), then the claims not yet anchored, the
	/// strongest first (data proven, then both parties' records; newest first within each).
	/// A claim not yet anchored never outranks an anchored one. Records of the slot that
	/// claim other digests are not included. `channel` and `seq` narrow the search.
	pub async fn claims(
		&self,
		digest: &Hash,
		channel: Option<&ChannelId>,
		seq: Option<Seq>,
		limit: u32,
		offset: u32,
	) -> Result<Vec<Item>> {
		if seq.is_some_and(|s| s > i64::MAX as u64) {
			return Ok(Vec::new()); // no slot is that far
		}
		let mut filter = String::new();
		let mut n = 1;
		if channel.is_some() {
			n += 1;
			filter.push_str(&format!(" AND x.channel_id = ${n}"));
		}
		if seq.is_some() {
			n += 1;
			filter.push_str(&format!(" AND x.seq = ${n}"));
		}
		let sql = format!(
			"SELECT r.channel_id, r.seq, r.party, r.payment_hash, r.record, r.at, r.anchor_index, \
			 r.wrong, s.possession, s.rank, a.channel_id AS a_channel_id, a.idx AS a_idx, \
			 a.first_seq AS a_first_seq, a.count AS a_count, a.root AS a_root, \
			 a.block AS a_block, a.complete AS a_complete FROM records r JOIN \
			 (SELECT x.channel_id AS channel_id, x.seq AS seq, \
			   MIN(an.block) AS first_block, \
			   MAX(CASE WHEN x.anchor_index IS NULL THEN 0 ELSE 1 END) * 4 \
			   + MAX(CASE WHEN EXISTS (SELECT 1 FROM possession p WHERE p.channel_id = x.channel_id \
			       AND p.digest = x.digest) THEN 1 ELSE 0 END) * 2 \
			   + CASE WHEN COUNT(*) > 1 THEN 1 ELSE 0 END AS rank, \
			   MAX(CASE WHEN EXISTS (SELECT 1 FROM possession p WHERE p.channel_id = x.channel_id \
			       AND p.digest = x.digest) THEN 1 ELSE 0 END) AS possession, \
			   MAX(x.at) AS latest \
			  FROM records x LEFT JOIN anchors an ON an.channel_id = x.channel_id \
			   AND an.idx = x.anchor_index \
			  WHERE x.digest = $1{filter} GROUP BY x.channel_id, x.seq \
			  ORDER BY CASE WHEN MIN(an.block) IS NULL THEN 1 ELSE 0 END, MIN(an.block), \
			   rank DESC, latest DESC, channel_id, seq LIMIT {} OFFSET {}) s \
			 ON r.channel_id = s.channel_id AND r.seq = s.seq AND r.digest = $1 \
			 LEFT JOIN anchors a ON a.channel_id = r.channel_id AND a.idx = r.anchor_index \
			 ORDER BY CASE WHEN s.first_block IS NULL THEN 1 ELSE 0 END, s.first_block, \
			 s.rank DESC, s.latest DESC, r.channel_id, r.seq, r.party",
			limit.min(1000),
			offset
		);
		let mut q = sqlx::query(&sql).bind(digest.0.to_vec());
		if let Some(c) = channel {
			q = q.bind(c.0.to_vec());
		}
		if let Some(s) = seq {
			q = q.bind(seq_i64(s)?);
		}
		let rows = q.fetch_all(&self.pool).await?;
		let mut items: Vec<Item> = Vec::new();
		for row in rows {
			let channel_id = hash_of(row.try_get("channel_id")?, "records.channel_id")?;
			let seq = u64::try_from(row.try_get::<i64, _>("seq")?)
				.map_err(|_| StoreError::Corrupt("records.seq"))?;
			let payment_hash = hash_of(row.try_get("payment_hash")?, "records.payment_hash")?;
			let at: i64 = row.try_get("at")?;
			let anchor_index = row
				.try_get::<Option<i64>, _>("anchor_index")?
				.map(|i| u32::try_from(i).map_err(|_| StoreError::Corrupt("anchor_index")))
				.transpose()?;
			let anchor = match row.try_get::<Option<i64>, _>("a_idx")? {
				Some(_) => Some(Self::anchor_columns_of(&row, "a_")?.anchor),
				None => None,
			};
			let wrong = row.try_get::<i64, _>("wrong")? != 0;
			let possession = row.try_get::<i64, _>("possession")? != 0;
			let bytes: Vec<u8> = row.try_get("record")?;
			let same =
				items.last().is_some_and(|i| i.channel_id == channel_id && i.claim.seq == seq);
			if !same {
				items.push(Item {
					channel_id,
					claim: ItemClaim { seq, digest: *digest, payment_hash },
					first: None,
					first_at: None,
					second: None,
					second_at: None,
					anchor_index: None,
					anchor: None,
					wrong: false,
					possession,
				});
			}
			let Some(item) = items.last_mut() else { continue };
			item.anchor_index = item.anchor_index.or(anchor_index);
			item.anchor = item.anchor.or(anchor);
			item.wrong |= wrong;
			if row.try_get::<i64, _>("party")? == 0 {
				item.claim.payment_hash = payment_hash;
				item.first = Some(
					FirstRecord::decode(&mut &bytes[..])
						.map_err(|_| StoreError::Corrupt("first record"))?,
				);
				item.first_at = Some(at);
			} else {
				item.second = Some(
					SecondRecord::decode(&mut &bytes[..])
						.map_err(|_| StoreError::Corrupt("second record"))?,
				);
				item.second_at = Some(at);
			}
		}
		Ok(items)
	}

	/// Whether some record of `channel` claims `digest`.
	pub async fn claimed_in(&self, channel: &ChannelId, digest: &Hash) -> Result<bool> {
		let row = sqlx::query(
			"SELECT 1 AS one FROM records WHERE digest = $1 AND channel_id = $2 LIMIT 1",
		)
		.bind(digest.0.to_vec())
		.bind(channel.0.to_vec())
		.fetch_optional(&self.pool)
		.await?;
		Ok(row.is_some())
	}

	/// Store blob index rows and possession ([`BatchData`] without records) in one
	/// transaction; returns the bytes new here.
	pub async fn put_data(&self, data: &BatchData) -> Result<u64> {
		let _w = self.write_guard().await;
		let mut tx = self.pool.begin().await?;
		let new_bytes = Self::insert_data(&mut tx, self.backend, data).await?;
		tx.commit().await?;
		Ok(new_bytes)
	}

	/// Whether the requester of `channel` proved it holds the bytes of `digest`.
	pub async fn has_possession(&self, channel: &ChannelId, digest: &Hash) -> Result<bool> {
		let row =
			sqlx::query("SELECT 1 AS one FROM possession WHERE channel_id = $1 AND digest = $2")
				.bind(channel.0.to_vec())
				.bind(digest.0.to_vec())
				.fetch_optional(&self.pool)
				.await?;
		Ok(row.is_some())
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
		Self::anchor_columns_of(row, "")
	}

	/// The anchor in `row`'s columns named `prefix` + the [`Store::ANCHOR_COLUMNS`] names.
	fn anchor_columns_of(row: &sqlx::any::AnyRow, prefix: &str) -> Result<AnchorRow> {
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

	const ANCHOR_COLUMNS: &'static str =
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

	async fn leaves_query(
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
					party: if party == 0 { Party::Verifier } else { Party::Requester },
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

	async fn complete_anchor_once(&self, anchor: &Anchor, disputed: &[(Seq, Hash)]) -> Result<()> {
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

	/// Remove blob `digest` from the index (the file is the caller's business).
	pub async fn forget_blob(&self, digest: &Hash) -> Result<()> {
		let _w = self.write_guard().await;
		sqlx::query("DELETE FROM blobs WHERE digest = $1")
			.bind(digest.0.to_vec())
			.execute(&self.pool)
			.await?;
		Ok(())
	}

	/// The channels whose records claim each of `digests` (digests without a claim are left
	/// out): per digest and channel, the first slot claiming it and the channel's parties if
	/// known here. One query per 128 digests.
	pub async fn claimants(
		&self,
		digests: &[Hash],
	) -> Result<HashMap<Hash, Vec<(ChannelId, Seq, Option<Parties>)>>> {
		let mut found: HashMap<Hash, Vec<(ChannelId, Seq, Option<Parties>)>> = HashMap::new();
		for chunk in digests.chunks(self.backend.rows_per_statement() * 4) {
			let sql = format!(
				"SELECT r.digest, r.channel_id, MIN(r.seq) AS seq, c.requester, c.verifier \
				 FROM records r LEFT JOIN channels c ON c.channel_id = r.channel_id \
				 WHERE r.digest IN {} GROUP BY r.digest, r.channel_id, c.requester, c.verifier \
				 ORDER BY r.digest, seq, r.channel_id",
				placeholders(self.backend, 1, chunk.len())
			);
			let mut q = sqlx::query(&sql);
			for d in chunk {
				q = q.bind(d.0.to_vec());
			}
			for row in q.fetch_all(&self.pool).await? {
				let digest = hash_of(row.try_get("digest")?, "records.digest")?;
				let channel = hash_of(row.try_get("channel_id")?, "records.channel_id")?;
				let seq = u64::try_from(row.try_get::<i64, _>("seq")?)
					.map_err(|_| StoreError::Corrupt("records.seq"))?;
				let account = |b: Option<Vec<u8>>| -> Result<Option<[u8; 32]>> {
					b.map(|b| hash_of(b, "channels.parties").map(|h| h.0)).transpose()
				};
				let parties =
					match (account(row.try_get("requester")?)?, account(row.try_get("verifier")?)?)
					{
						(Some(requester), Some(verifier)) => Some(Parties { requester, verifier }),
						_ => None,
					};
				found.entry(digest).or_default().push((channel, seq, parties));
			}
		}
		Ok(found)
	}

	/// Which of `digests` are stored blobs (one query per thousand).
	pub async fn blobs_stored(&self, digests: &[Hash]) -> Result<HashSet<Hash>> {
		let mut found = HashSet::new();
		for chunk in digests.chunks(1000) {
			let sql = format!(
				"SELECT digest FROM blobs WHERE digest IN {}",
				placeholders(self.backend, 1, chunk.len())
			);
			let mut q = sqlx::query(&sql);
			for d in chunk {
				q = q.bind(d.0.to_vec());
			}
			for row in q.fetch_all(&self.pool).await? {
				found.insert(hash_of(row.try_get("digest")?, "blobs.digest")?);
			}
		}
		Ok(found)
	}

	/// Size of blob `digest` and, for small data kept in the database, its bytes (`None`:
	/// the bytes are in the blob store). `None` if not stored.
	pub async fn blob_data(&self, digest: &Hash) -> Result<Option<(u64, Option<Vec<u8>>)>> {
		let row = sqlx::query("SELECT size, data FROM blobs WHERE digest = $1")
			.bind(digest.0.to_vec())
			.fetch_optional(&self.pool)
			.await?;
		row.map(|r| {
			let size = r.try_get::<i64, _>("size")? as u64;
			let data: Option<Vec<u8>> = r.try_get("data")?;
			if data.as_ref().is_some_and(|d| d.len() as u64 != size) {
				return Err(StoreError::Corrupt("blobs.data (length differs from size)"));
			}
			Ok((size, data))
		})
		.transpose()
	}

	/// Whether blob `digest` is stored and where: `Some(true)` in the database (small data),
	/// `Some(false)` in the blob store.
	pub async fn blob_in_database(&self, digest: &Hash) -> Result<Option<bool>> {
		let row = sqlx::query(
			"SELECT CASE WHEN data IS NULL THEN 0 ELSE 1 END AS in_db FROM blobs WHERE digest = $1",
		)
		.bind(digest.0.to_vec())
		.fetch_optional(&self.pool)
		.await?;
		row.map(|r| Ok(r.try_get::<i64, _>("in_db")? != 0)).transpose()
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

#[cfg(test)]
mod tests {
	use super::*;
	use sp_runtime::{MultiSignature, MultiSigner};

	fn claim(seq: u64, digest: u8) -> ItemClaim {
		ItemClaim { seq, digest: Hash([digest; 32]), payment_hash: Hash([1; 32]) }
	}

	fn rec(channel: u8, seq: u64, digest: u8) -> Record {
		Record::First(FirstRecord {
			channel_id: Hash([channel; 32]),
			claim: claim(seq, digest),
			verifier_signature: MultiSignature::Sr25519(sp_core::sr25519::Signature::from_raw(
				[seq as u8; 64],
			)),
			verifier: MultiSigner::Sr25519(sp_core::sr25519::Public::from_raw([2; 32])),
		})
	}

	fn rec2(channel: u8, seq: u64, digest: u8) -> Record {
		Record::Second(SecondRecord {
			channel_id: Hash([channel; 32]),
			claim: claim(seq, digest),
			data: attest_primitives::DataRef::Blob(Hash([digest; 32])),
			requester_signature: MultiSignature::Sr25519(sp_core::sr25519::Signature::from_raw(
				[seq as u8; 64],
			)),
			requester: MultiSigner::Sr25519(sp_core::sr25519::Public::from_raw([3; 32])),
		})
	}

	async fn store() -> (tempfile::TempDir, Store) {
		let dir = tempfile::tempdir().expect("temp dir");
		let url = format!("sqlite://{}", dir.path().join("t.sqlite").display());
		let s = Store::open(&url, 4).await.expect("open");
		(dir, s)
	}

	async fn claims(s: &Store, digest: u8) -> Vec<Item> {
		s.claims(&Hash([digest; 32]), None, None, 100, 0).await.expect("claims")
	}

	#[tokio::test]
	async fn batch_outcomes_duplicates_and_conflicts() {
		let (_d, s) = store().await;
		let out = s
			.submit(&[rec(1, 0, 10), rec(1, 1, 11), rec(1, 0, 10), rec(1, 1, 99)])
			.await
			.expect("submit");
		let kinds: Vec<_> = out.iter().map(|o| o.outcome.clone()).collect();
		assert_eq!(kinds[0], Outcome::Stored);
		assert_eq!(kinds[1], Outcome::Stored);
		assert_eq!(kinds[2], Outcome::AlreadyStored, "a duplicate within one batch");
		assert!(
			matches!(kinds[3], Outcome::Conflict(c) if c.digest == Hash([11; 32])),
			"{:?}",
			kinds[3]
		);
		// The party's first claim is kept.
		assert_eq!(claims(&s, 11).await.len(), 1);
		assert!(claims(&s, 99).await.is_empty());
		let again = s.submit(&[rec(1, 0, 10)]).await.expect("submit");
		assert_eq!(again[0].outcome, Outcome::AlreadyStored);
	}

	#[tokio::test]
	async fn the_other_partys_record_is_never_kept_out() {
		let (_d, s) = store().await;
		// The verifier claims digest 50 for slot 0; the requester's record says 60.
		s.submit(&[rec(1, 0, 50)]).await.expect("submit");
		let out = s.submit(&[rec2(1, 0, 60)]).await.expect("submit");
		assert_eq!(out[0].outcome, Outcome::Stored);
		assert_eq!(out[0].disputed, Some(Hash([50; 32])));
		assert_eq!(claims(&s, 50).await.len(), 1);
		assert_eq!(claims(&s, 60).await.len(), 1);
		// The anchored log says 60: the requester's record is anchored, the verifier's wrong.
		let log = attest_primitives::LogHead::of_digests(&[Hash([60; 32])]);
		let anchor = Anchor { channel_id: Hash([1; 32]), index: 0, first_seq: 0, log, block: 9 };
		s.insert_anchor(&anchor).await.expect("insert");
		s.complete_anchor(&anchor, &[(0, Hash([60; 32]))]).await.expect("complete");
		let right = claims(&s, 60).await;
		assert_eq!((right[0].anchor_index, right[0].wrong), (Some(0), false));
		let wrong = claims(&s, 50).await;
		assert_eq!((wrong[0].anchor_index, wrong[0].wrong), (None, true));
		// A record arriving later for the anchored slot is matched at once.
		let late = s.submit(&[rec(2, 0, 70), rec2(1, 0, 60)]).await.expect("submit");
		assert_eq!(late[1].outcome, Outcome::AlreadyStored);
		s.put_channel(&Hash([1; 32]), &Parties { requester: [3; 32], verifier: [2; 32] })
			.await
			.expect("channel");
		assert!(s.channels_to_watch().await.expect("watch").is_empty());
	}

	#[tokio::test]
	async fn other_claims_are_counted_and_strong_claims_come_first() {
		let (_d, s) = store().await;
		assert_eq!(s.submit(&[rec(1, 0, 10)]).await.expect("submit")[0].other_claims, 0);
		// Another channel claims digest 10: one other claim, both kept.
		assert_eq!(s.submit(&[rec(2, 5, 10)]).await.expect("submit")[0].other_claims, 1);
		// 150 weak claims by a third channel cannot hide the anchored one.
		let spam: Vec<Record> = (0..150).map(|i| rec(3, i, 10)).collect();
		s.submit(&spam).await.expect("submit");
		let log = attest_primitives::LogHead::of_digests(&[Hash([10; 32])]);
		let anchor = Anchor { channel_id: Hash([1; 32]), index: 0, first_seq: 0, log, block: 9 };
		s.complete_anchor(&anchor, &[]).await.expect("complete");
		let proven =
			BatchData { possession: vec![(Hash([2; 32]), Hash([10; 32]))], ..Default::default() };
		s.put_data(&proven).await.expect("possession");
		let page = s.claims(&Hash([10; 32]), None, None, 100, 0).await.expect("claims");
		assert_eq!(page.len(), 100);
		assert_eq!(page[0].channel_id, Hash([1; 32]), "anchored first");
		assert_eq!((page[1].channel_id, page[1].possession), (Hash([2; 32]), true));
		let rest = s.claims(&Hash([10; 32]), None, None, 100, 100).await.expect("claims");
		assert_eq!(rest.len(), 52);
		let one = s.claims(&Hash([10; 32]), Some(&Hash([3; 32])), Some(7), 100, 0).await;
		assert_eq!(one.expect("claims").len(), 1);
	}

	/// DESIGN invariant 10: the earliest anchored claim of a digest comes first, whatever the
	/// order its records arrived in or how strong a later claim looks; a claim not yet anchored
	/// never outranks an anchored one. (Before: the newest anchored claim came first, so a
	/// later copy attested elsewhere was named as the owner.)
	#[tokio::test]
	async fn the_earliest_anchored_claim_comes_first() {
		let (_d, s) = store().await;
		// Channel 1 (the first to hold the data, anchored in block 5), then channel 2 (a copy,
		// anchored in block 9, with both records and proven data), then channel 3 (newest, not
		// anchored, with proven data).
		s.submit(&[rec(1, 0, 10)]).await.expect("submit");
		s.submit(&[rec(2, 0, 10), rec2(2, 0, 10)]).await.expect("submit");
		s.submit(&[rec(3, 0, 10), rec2(3, 0, 10)]).await.expect("submit");
		for c in [2u8, 3] {
			let proven = BatchData {
				possession: vec![(Hash([c; 32]), Hash([10; 32]))],
				..Default::default()
			};
			s.put_data(&proven).await.expect("possession");
		}
		let log = attest_primitives::LogHead::of_digests(&[Hash([10; 32])]);
		// The copy's anchor is accepted by this server first.
		for (c, block) in [(2u8, 9u32), (1, 5)] {
			let a = Anchor { channel_id: Hash([c; 32]), index: 0, first_seq: 0, log, block };
			s.insert_anchor(&a).await.expect("insert");
			s.complete_anchor(&a, &[]).await.expect("complete");
		}
		let order: Vec<Hash> = claims(&s, 10).await.iter().map(|i| i.channel_id).collect();
		let mut firsts = order.clone();
		firsts.dedup();
		assert_eq!(firsts, vec![Hash([1; 32]), Hash([2; 32]), Hash([3; 32])], "{order:?}");
		// A page starting after the first claim starts with the second.
		let page = s.claims(&Hash([10; 32]), None, None, 1, 1).await.expect("claims");
		assert_eq!(page[0].channel_id, Hash([2; 32]));
	}

	#[tokio::test]
	async fn anchors_are_checked_again_only_after_new_records() {
		let (_d, s) = store().await;
		// 1,001 anchors of channels without records here, then one with records.
		for c in 0..1001u32 {
			let mut id = [0u8; 32];
			id[..4].copy_from_slice(&c.to_le_bytes());
			id[31] = 0xff;
			let log = attest_primitives::LogHead::of_digests(&[Hash([1; 32])]);
			let a = Anchor { channel_id: Hash(id), index: 0, first_seq: 0, log, block: 1 };
			s.insert_anchor(&a).await.expect("insert");
		}
		let id = Hash([4; 32]);
		s.put_channel(&id, &Parties { requester: [3; 32], verifier: [2; 32] })
			.await
			.expect("c");
		s.submit(&[rec(4, 0, 10)]).await.expect("submit");
		let log = attest_primitives::LogHead::of_digests(&[Hash([10; 32]), Hash([11; 32])]);
		let a = Anchor { channel_id: id, index: 0, first_seq: 0, log, block: 2 };
		s.insert_anchor(&a).await.expect("insert");
		let due = s.anchors_to_check(1000).await.expect("due");
		assert_eq!(due.iter().map(|(a, _)| a.channel_id).collect::<Vec<_>>(), vec![id]);
		s.anchor_tried(&a, due[0].1).await.expect("tried");
		assert!(s.anchors_to_check(1000).await.expect("due").is_empty(), "failure remembered");
		s.submit(&[rec(4, 1, 11)]).await.expect("submit");
		assert_eq!(s.anchors_to_check(1000).await.expect("due").len(), 1, "new records");
		assert_eq!(s.slots_stored(&id, 2).await.expect("count"), 2);
		assert_eq!(s.slots_stored(&id, 1).await.expect("count"), 1);
		assert_eq!(s.slots_stored(&id, 3).await.expect("count"), 2);
		let records = s.log_records(&id, 2).await.expect("log");
		assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![0, 1]);
	}

	#[test]
	fn hex_decodes_as_the_hex_crate_and_refuses_what_it_refuses() {
		let all: Vec<u8> = (0..=255u8).collect();
		assert_eq!(decode_hex(hex::encode(&all).as_bytes()), Some(all.clone()));
		assert_eq!(decode_hex(hex::encode_upper(&all).as_bytes()), Some(all));
		assert_eq!(decode_hex(b""), Some(vec![]));
		for bad in [&b"0"[..], b"0g", b"g0", b"0x", b"\xff0", b" 0", b"0:", b"@0", b"0`"] {
			assert_eq!(decode_hex(bad), None, "{bad:?}");
		}
	}

	/// A complete anchor's leaves come back in slot order from one row; a slot without an
	/// anchored record (not yet complete, or past the log) gives none.
	#[tokio::test]
	async fn anchored_leaves_are_the_anchored_digests_in_order() {
		let (_d, s) = store().await;
		let id = Hash([5; 32]);
		// Slots 0..3: both parties agree at 0 and 2; at 1 they differ, the log holds 21.
		// Digests in an order unlike the slots' so that a sort by digest would show.
		s.submit(&[rec(5, 0, 90), rec2(5, 0, 90), rec(5, 1, 20), rec2(5, 1, 21), rec(5, 2, 3)])
			.await
			.expect("submit");
		let digests = [Hash([90; 32]), Hash([21; 32]), Hash([3; 32])];
		let log = attest_primitives::LogHead::of_digests(&digests);
		let a = Anchor { channel_id: id, index: 0, first_seq: 0, log, block: 2 };
		s.insert_anchor(&a).await.expect("insert");
		assert_eq!(s.anchored_leaves(&id, 3).await.expect("leaves"), None, "not complete yet");
		s.complete_anchor(&a, &[(1, Hash([21; 32]))]).await.expect("complete");
		// At slot 1 the verifier's record is not the anchored one: both parties' records.
		assert_eq!(s.anchored_leaves(&id, 3).await.expect("leaves"), Some(digests.to_vec()));
		assert_eq!(s.anchored_leaves(&id, 2).await.expect("leaves"), Some(digests[..2].to_vec()));
		// Slot 0 from the verifier's records alone.
		assert_eq!(s.anchored_leaves(&id, 1).await.expect("leaves"), Some(digests[..1].to_vec()));
		assert_eq!(s.anchored_leaves(&id, 4).await.expect("leaves"), None, "slot 3 is not there");
		assert_eq!(s.anchored_leaves(&Hash([6; 32]), 1).await.expect("leaves"), None);
		// A claim's anchor comes with it.
		let items = s.claims(&Hash([21; 32]), None, None, 10, 0).await.expect("claims");
		assert_eq!(items.len(), 1);
		assert_eq!((items[0].anchor_index, items[0].anchor), (Some(0), Some(a)));
		let items = s.claims(&Hash([20; 32]), None, None, 10, 0).await.expect("claims");
		assert_eq!((items[0].anchor_index, items[0].anchor, items[0].wrong), (None, None, true));
	}

	/// A request that goes away while its group is being committed (a client that
	/// disconnects, a timeout) does not take the others of its group down with it: the group
	/// is committed and each other submission gets its answer.
	#[tokio::test]
	async fn a_writer_that_goes_away_still_commits_its_group() {
		let (_d, s) = store().await;
		let s = std::sync::Arc::new(s);
		// Hold the writer's place so that both submissions queue up behind it.
		let place = s.writers.clone().acquire_owned().await.expect("place");
		let a = tokio::spawn({
			let s = s.clone();
			async move { s.submit(&[rec(1, 1, 1)]).await }
		});
		let b = tokio::spawn({
			let s = s.clone();
			async move { s.submit(&[rec(1, 2, 2)]).await }
		});
		while s.queue.lock().expect("queue").len() < 2 {
			tokio::task::yield_now().await;
		}
		// The place goes to the first waiter, which takes both submissions into its group;
		// it goes away as soon as it has started.
		drop(place);
		tokio::task::yield_now().await;
		a.abort();
		let b = b.await.expect("task b").expect("b is answered");
		assert_eq!(b[0].outcome, Outcome::Stored);
		// Both were committed: the same records again are already stored.
		let again = s.submit(&[rec(1, 1, 1), rec(1, 2, 2)]).await.expect("again");
		assert!(again.iter().all(|o| o.outcome == Outcome::AlreadyStored), "{again:?}");
	}

	/// Concurrent submissions on SQLite are committed in groups: each still gets its own
	/// answers, one per record, and a slot sent by several is `Stored` for exactly one.
	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn grouped_commits_answer_each_submission() {
		let (_d, s) = store().await;
		let s = std::sync::Arc::new(s);
		let mut tasks = Vec::new();
		for t in 0..16u64 {
			let s = s.clone();
			tasks.push(tokio::spawn(async move {
				// Each task: 3 slots of its own, and slot 1000 that every task sends.
				let mut recs: Vec<Record> =
					(0..3).map(|k| rec(1, t * 10 + k, 10 + k as u8)).collect();
				recs.push(rec(1, 1000, 99));
				let out = s.submit(&recs).await.expect("submit");
				assert_eq!(out.len(), 4);
				assert!(out[..3].iter().all(|o| o.outcome == Outcome::Stored), "{out:?}");
				out[3].outcome.clone()
			}));
		}
		let mut shared = Vec::new();
		for t in tasks {
			shared.push(t.await.expect("task"));
		}
		assert_eq!(shared.iter().filter(|o| **o == Outcome::Stored).count(), 1, "{shared:?}");
		assert_eq!(
			shared.iter().filter(|o| **o == Outcome::AlreadyStored).count(),
			15,
			"{shared:?}"
		);
	}

	#[tokio::test]
	async fn rejects_unknown_database_urls() {
		assert!(matches!(Store::open("mysql://x", 1).await, Err(StoreError::Url(_))));
	}
}
