//! Each party's durable state in SQLite (WAL, `synchronous = FULL`): its channels, the newest
//! state both signed, every state it signed (by nonce), the channel's item log, bills and bill
//! keys, and (requester) its items by path.
//!
//! Rules kept here: a state is written (with its nonce) **before** the party signs it, in the
//! same transaction that checks no other state of that nonce was signed, so a crash at any
//! point never leads to two different states signed with one nonce. And after this agent
//! closed a channel alone ([`Store::will_close`], written before the close is sent), it signs
//! nothing for that channel but a final state that names the close (`Finality::EndsClose`):
//! the chain reads any other state newer than the close, signed by the closer, as proof that
//! the close was stale (`docs/protocol.md`, "Closing, and what may be signed after a close").

use attest_primitives::{Bill, BillKey, ChannelState, Finality, Hash, Party};
use codec::{Decode, Encode};
use sp_runtime::MultiSignature;
use sqlx::{
	sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
	QueryBuilder, Row, SqlitePool,
};
use std::{collections::HashMap, path::Path, str::FromStr};

/// Rows per multi-row `INSERT`: one statement (one hand-off to sqlx's SQLite worker thread)
/// per this many rows instead of one per row; more parameters per statement cost sqlx's SQLite
/// driver more than linearly (measured for the attestation server, `server/src/store.rs`).
const ROWS_PER_STATEMENT: usize = 32;

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	/// SQLite failed.
	#[error("state database: {0}")]
	Db(#[from] sqlx::Error),
	/// A stored value does not decode (the file was changed by something else).
	#[error("state database holds a corrupt {0}")]
	Corrupt(&'static str),
	/// Signing this state would sign two different states with one nonce.
	#[error(
		"refusing to sign a second, different state with nonce {nonce} in channel {channel:?}"
	)]
	NonceReuse {
		/// Channel.
		channel: Hash,
		/// Nonce.
		nonce: u64,
	},
	/// No such channel in this database.
	#[error("channel {0:?} is not in this agent's database (opened with another --db?)")]
	UnknownChannel(Hash),
	/// This agent closed the channel alone: it signs only a final state naming that close.
	#[error(
		"this {} closed channel {channel:?} alone with state {closed_nonce}: after its own close \
		 it signs only a final state that names that close (finality {{\"endsClose\": \
		 {{\"closer\": \"{}\", \"closedNonce\": {closed_nonce}}}}}), since any other state it \
		 signed now would prove its close stale on chain and cost it the penalty",
		party.word(), party.word()
	)]
	ClosedByUs {
		/// Channel.
		channel: Hash,
		/// Which party this agent is (the closer).
		party: Party,
		/// The nonce it closed with.
		closed_nonce: u64,
	},
	/// A state was signed between reading the newest state and recording the close.
	#[error(
		"channel {channel:?}: state {newest} was signed while the close with state {closing} was \
		 prepared; run the close again (it will use the newest state)"
	)]
	CloseRace {
		/// Channel.
		channel: Hash,
		/// The nonce the close was prepared with.
		closing: u64,
		/// The newest state both signed now.
		newest: u64,
	},
}

type Result<T> = std::result::Result<T, StoreError>;

/// A channel as the agent keeps it.
#[derive(Debug, Clone)]
pub struct ChannelRow {
	/// Channel id.
	pub id: Hash,
	/// This agent's side of the channel.
	pub role: Party,
	/// Requester account.
	pub requester: [u8; 32],
	/// Verifier account.
	pub verifier: [u8; 32],
	/// The verifier's service URL.
	pub endpoint: String,
	/// Newest state both signed (or the opening state).
	pub state: ChannelState,
	/// Its requester signature.
	pub requester_signature: Option<MultiSignature>,
	/// Its verifier signature.
	pub verifier_signature: Option<MultiSignature>,
	/// A state this agent signed whose countersignature it waits for (requester).
	pub pending: Option<(ChannelState, MultiSignature)>,
	/// Log size anchored on chain, as last seen.
	pub anchored: u64,
	/// Closed (settled or closed cooperatively) on chain.
	pub closed: bool,
	/// The nonce this agent closed the channel with alone (`close_unilateral`), recorded before
	/// the close was sent: from then on it signs only a final state that names this close.
	pub closing: Option<u64>,
}

/// The store.
#[derive(Clone)]
pub struct Store {
	pool: SqlitePool,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS channels (
	id BLOB PRIMARY KEY, role TEXT NOT NULL, requester BLOB NOT NULL, verifier BLOB NOT NULL,
	endpoint TEXT NOT NULL, state BLOB NOT NULL, requester_sig BLOB, verifier_sig BLOB,
	pending BLOB, pending_sig BLOB, anchored INTEGER NOT NULL DEFAULT 0,
	closed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS signed (
	channel BLOB NOT NULL, nonce INTEGER NOT NULL, state BLOB NOT NULL, signature BLOB,
	PRIMARY KEY (channel, nonce));
CREATE TABLE IF NOT EXISTS log (
	channel BLOB NOT NULL, seq INTEGER NOT NULL, digest BLOB NOT NULL, PRIMARY KEY (channel, seq));
CREATE TABLE IF NOT EXISTS bills (
	channel BLOB NOT NULL, payment_hash BLOB NOT NULL, bill BLOB NOT NULL, signature BLOB,
	bill_key BLOB, digests BLOB NOT NULL, status TEXT NOT NULL, PRIMARY KEY (channel, payment_hash));
CREATE TABLE IF NOT EXISTS received (
	channel BLOB NOT NULL, digest BLOB NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (channel, digest));
CREATE TABLE IF NOT EXISTS items (
	path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime INTEGER NOT NULL, digest BLOB NOT NULL,
	channel BLOB, seq INTEGER, status TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS items_status ON items (status);
"#;

/// Schema changes after [`SCHEMA`], in order: database version `i + 1` is reached by step `i`
/// (`PRAGMA user_version` holds the version).
const MIGRATIONS: &[&str] = &[
	// 1: the nonce this agent closed a channel with alone (issue 25: what it may sign after).
	"ALTER TABLE channels ADD COLUMN closing_nonce INTEGER",
];

/// Whether an agent of `party` that closed alone with `closing` may sign `state`.
fn may_sign(party: Party, closing: Option<u64>, state: &ChannelState) -> bool {
	match closing {
		None => true,
		Some(c) => state.finality == Finality::EndsClose { closer: party, closed_nonce: c },
	}
}

/// Set a bill's status, and its key if it has none yet (one statement for [`Store::set_bill`]
/// and [`Store::set_latest`]).
fn bill_update<'q>(
	channel: &[u8],
	status: &'q str,
	payment_hash: Hash,
	key: Option<&BillKey>,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
	sqlx::query(
		"UPDATE bills SET status = ?, bill_key = COALESCE(bill_key, ?) WHERE channel = ? AND \
		 payment_hash = ?",
	)
	.bind(status)
	.bind(key.map(|k| k.0.to_vec()))
	.bind(channel.to_vec())
	.bind(payment_hash.0.to_vec())
}

fn dec<T: Decode>(bytes: &[u8], what: &'static str) -> Result<T> {
	T::decode(&mut &bytes[..]).map_err(|_| StoreError::Corrupt(what))
}

fn hash(bytes: &[u8]) -> Result<Hash> {
	<[u8; 32]>::try_from(bytes).map(Hash).map_err(|_| StoreError::Corrupt("hash"))
}

fn key32(bytes: &[u8]) -> Result<[u8; 32]> {
	<[u8; 32]>::try_from(bytes).map_err(|_| StoreError::Corrupt("account"))
}

/// An item of the requester, by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
	/// Path as given (made absolute).
	pub path: String,
	/// Size in bytes when hashed.
	pub size: u64,
	/// Modification time (unix ns) when hashed.
	pub mtime: i64,
	/// Its SHA-256.
	pub digest: Hash,
	/// Channel and seq once billed.
	pub slot: Option<(Hash, u64)>,
	/// `hashed`, `billed`, `attested` (both signed the state holding it), `done` (records
	/// and data on the attestation server).
	pub status: String,
}

impl Store {
	/// Open (or create) the database at `path`.
	pub async fn open(path: &Path) -> Result<Self> {
		if let Some(dir) = path.parent() {
			let _ = std::fs::create_dir_all(dir);
		}
		let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
			.create_if_missing(true)
			.journal_mode(SqliteJournalMode::Wal)
			.synchronous(SqliteSynchronous::Full)
			.busy_timeout(std::time::Duration::from_secs(30));
		// The schema and its migrations on one connection of their own, closed before the pool
		// opens any: a pooled connection that had read the schema before an `ALTER TABLE` on
		// another one would prepare `SELECT *` with the old columns (sqlx then reads past them).
		{
			use sqlx::Connection as _;
			let mut conn = sqlx::SqliteConnection::connect_with(&opts).await?;
			sqlx::raw_sql(SCHEMA).execute(&mut conn).await?;
			let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
			let version: i64 =
				sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut *tx).await?;
			for (i, step) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
				sqlx::raw_sql(step).execute(&mut *tx).await?;
				sqlx::raw_sql(&format!("PRAGMA user_version = {}", i + 1))
					.execute(&mut *tx)
					.await?;
			}
			tx.commit().await?;
			conn.close().await?;
		}
		let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
		Ok(Store { pool })
	}

	/// Add a channel with its opening state (nobody signs state 0). Known channels are kept.
	pub async fn add_channel(&self, c: &ChannelRow) -> Result<()> {
		sqlx::query(
			"INSERT OR IGNORE INTO channels (id, role, requester, verifier, endpoint, state) \
			 VALUES (?, ?, ?, ?, ?, ?)",
		)
		.bind(c.id.0.to_vec())
		.bind(c.role.word())
		.bind(c.requester.to_vec())
		.bind(c.verifier.to_vec())
		.bind(&c.endpoint)
		.bind(c.state.encode())
		.execute(&self.pool)
		.await?;
		Ok(())
	}

	fn row(r: &sqlx::sqlite::SqliteRow) -> Result<ChannelRow> {
		let sig = |col: &str| -> Result<Option<MultiSignature>> {
			let b: Option<Vec<u8>> = r.try_get(col)?;
			b.map(|b| dec(&b, "signature")).transpose()
		};
		let pending: Option<Vec<u8>> = r.try_get("pending")?;
		let pending = match (pending, sig("pending_sig")?) {
			(Some(s), Some(sig)) => Some((dec(&s, "pending state")?, sig)),
			_ => None,
		};
		let role: String = r.try_get("role")?;
		Ok(ChannelRow {
			id: hash(&r.try_get::<Vec<u8>, _>("id")?)?,
			role: if role == "verifier" { Party::Verifier } else { Party::Requester },
			requester: key32(&r.try_get::<Vec<u8>, _>("requester")?)?,
			verifier: key32(&r.try_get::<Vec<u8>, _>("verifier")?)?,
			endpoint: r.try_get("endpoint")?,
			state: dec(&r.try_get::<Vec<u8>, _>("state")?, "state")?,
			requester_signature: sig("requester_sig")?,
			verifier_signature: sig("verifier_sig")?,
			pending,
			anchored: r.try_get::<i64, _>("anchored")? as u64,
			closed: r.try_get::<i64, _>("closed")? != 0,
			closing: r.try_get::<Option<i64>, _>("closing_nonce")?.map(|n| n as u64),
		})
	}

	/// A channel.
	pub async fn channel(&self, id: &Hash) -> Result<ChannelRow> {
		let r = sqlx::query("SELECT * FROM channels WHERE id = ?")
			.bind(id.0.to_vec())
			.fetch_optional(&self.pool)
			.await?
			.ok_or(StoreError::UnknownChannel(*id))?;
		Self::row(&r)
	}

	/// Every channel of this agent.
	pub async fn channels(&self) -> Result<Vec<ChannelRow>> {
		let rows = sqlx::query("SELECT * FROM channels ORDER BY rowid")
			.fetch_all(&self.pool)
			.await?;
		rows.iter().map(Self::row).collect()
	}

	/// Record that this agent is about to sign `state` (with `signature`, once made, or before:
	/// `None`). Refuses a different state with the same nonce; the same state again is fine
	/// (a retried message).
	pub async fn will_sign(&self, state: &ChannelState) -> Result<()> {
		let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
		if let Err(e) = Self::check_may_sign(&mut tx, state).await {
			tx.rollback().await?;
			return Err(e);
		}
		let known: Option<Vec<u8>> =
			sqlx::query_scalar("SELECT state FROM signed WHERE channel = ? AND nonce = ?")
				.bind(state.channel_id.0.to_vec())
				.bind(state.nonce as i64)
				.fetch_optional(&mut *tx)
				.await?;
		match known {
			// An early return must end the transaction now: a dropped one is rolled back only
			// when its connection is next used, and until then it holds the write lock.
			Some(s) if s == state.encode() => {
				tx.rollback().await?;
				return Ok(());
			},
			Some(_) => {
				tx.rollback().await?;
				return Err(StoreError::NonceReuse {
					channel: state.channel_id,
					nonce: state.nonce,
				});
			},
			None => {},
		}
		sqlx::query("INSERT INTO signed (channel, nonce, state) VALUES (?, ?, ?)")
			.bind(state.channel_id.0.to_vec())
			.bind(state.nonce as i64)
			.bind(state.encode())
			.execute(&mut *tx)
			.await?;
		tx.commit().await?;
		Ok(())
	}

	/// Refuse to sign `state` if this agent closed its channel alone and `state` is not the
	/// final state naming that close.
	async fn check_may_sign(conn: &mut sqlx::SqliteConnection, state: &ChannelState) -> Result<()> {
		let row: Option<(String, Option<i64>)> =
			sqlx::query_as("SELECT role, closing_nonce FROM channels WHERE id = ?")
				.bind(state.channel_id.0.to_vec())
				.fetch_optional(&mut *conn)
				.await?;
		let Some((role, closing)) = row else { return Ok(()) };
		let party = if role == "verifier" { Party::Verifier } else { Party::Requester };
		let closing = closing.map(|n| n as u64);
		match closing {
			Some(closed_nonce) if !may_sign(party, closing, state) => {
				Err(StoreError::ClosedByUs { channel: state.channel_id, party, closed_nonce })
			},
			_ => Ok(()),
		}
	}

	/// Record, before sending `close_unilateral`, that this agent closes `channel` alone with
	/// the state of nonce `closed_nonce`, prepared when the newest state both signed had nonce
	/// `newest`. From then on it signs only the final state naming this close. Refused if a
	/// newer state was recorded meanwhile (a countersignature given while the close was being
	/// prepared), or if another close was recorded before; the same close again is fine.
	pub async fn will_close(&self, channel: &Hash, closed_nonce: u64, newest: u64) -> Result<()> {
		let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
		let row: Option<(Vec<u8>, Option<i64>)> =
			sqlx::query_as("SELECT state, closing_nonce FROM channels WHERE id = ?")
				.bind(channel.0.to_vec())
				.fetch_optional(&mut *tx)
				.await?;
		let Some((state, closing)) = row else {
			tx.rollback().await?;
			return Err(StoreError::UnknownChannel(*channel));
		};
		let state: ChannelState = dec(&state, "state")?;
		let err = match closing {
			Some(c) if c as u64 == closed_nonce => None,
			Some(c) => Some(StoreError::CloseRace {
				channel: *channel,
				closing: closed_nonce,
				newest: c as u64,
			}),
			None if state.nonce != newest => Some(StoreError::CloseRace {
				channel: *channel,
				closing: closed_nonce,
				newest: state.nonce,
			}),
			None => None,
		};
		if let Some(e) = err {
			tx.rollback().await?;
			return Err(e);
		}
		sqlx::query("UPDATE channels SET closing_nonce = ? WHERE id = ?")
			.bind(closed_nonce as i64)
			.bind(channel.0.to_vec())
			.execute(&mut *tx)
			.await?;
		tx.commit().await?;
		Ok(())
	}

	/// The state this agent signed with `nonce` in `channel`, if any.
	pub async fn signed_state(&self, channel: &Hash, nonce: u64) -> Result<Option<ChannelState>> {
		let row: Option<Vec<u8>> =
			sqlx::query_scalar("SELECT state FROM signed WHERE channel = ? AND nonce = ?")
				.bind(channel.0.to_vec())
				.bind(nonce as i64)
				.fetch_optional(&self.pool)
				.await?;
		row.map(|b| dec(&b, "signed state")).transpose()
	}

	/// Every state this agent signed in `channel` (for the crash tests: one per nonce).
	pub async fn signed_states(&self, channel: &Hash) -> Result<Vec<ChannelState>> {
		let rows: Vec<Vec<u8>> =
			sqlx::query_scalar("SELECT state FROM signed WHERE channel = ? ORDER BY nonce")
				.bind(channel.0.to_vec())
				.fetch_all(&self.pool)
				.await?;
		rows.iter().map(|b| dec(b, "signed state")).collect()
	}

	/// The requester signed `state` and waits for the countersignature.
	/// Its signature leaves the process after this, so this is where a close recorded since
	/// [`Store::will_sign`] stops it.
	pub async fn set_pending(&self, state: &ChannelState, sig: &MultiSignature) -> Result<()> {
		let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
		if let Err(e) = Self::check_may_sign(&mut tx, state).await {
			tx.rollback().await?;
			return Err(e);
		}
		sqlx::query("UPDATE channels SET pending = ?, pending_sig = ? WHERE id = ?")
			.bind(state.encode())
			.bind(sig.encode())
			.bind(state.channel_id.0.to_vec())
			.execute(&mut *tx)
			.await?;
		tx.commit().await?;
		Ok(())
	}

	/// `state` is signed by both: in one transaction it becomes the newest, its new items
	/// (`new_digests`, the log from the previous state's size on) are appended to the log, the
	/// pending state is cleared, the bill of the HTLC it adds becomes `pending` (with
	/// `bill_key`, learned with the confirmation, kept), the bills of the HTLCs it removes
	/// become `resolved`, and (requester) the billed items it covers become `attested`. One
	/// transaction: an agent that stops between these steps would otherwise restart with items
	/// still `billed` whose slots the agreed log already holds (and attest them a second time)
	/// or with a bill whose key it learned but lost.
	pub async fn set_latest(
		&self,
		state: &ChannelState,
		requester_sig: &MultiSignature,
		verifier_sig: &MultiSignature,
		new_digests: &[Hash],
		bill_key: Option<&BillKey>,
	) -> Result<()> {
		let id = state.channel_id.0.to_vec();
		let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
		let (old, role): (Vec<u8>, String) =
			sqlx::query_as("SELECT state, role FROM channels WHERE id = ?")
				.bind(&id)
				.fetch_optional(&mut *tx)
				.await?
				.ok_or(StoreError::UnknownChannel(state.channel_id))?;
		let old: ChannelState = dec(&old, "state")?;
		if old.nonce >= state.nonce {
			// Already recorded (a retried confirmation).
			tx.rollback().await?;
			return Ok(());
		}
		// The verifier's countersignature leaves the process after this: a close this agent
		// recorded since `will_sign` stops it here.
		if role == "verifier" {
			if let Err(e) = Self::check_may_sign(&mut tx, state).await {
				tx.rollback().await?;
				return Err(e);
			}
		}
		let first = old.log.size;
		let rows: Vec<(u64, &Hash)> =
			new_digests.iter().enumerate().map(|(i, d)| (first + i as u64, d)).collect();
		for chunk in rows.chunks(ROWS_PER_STATEMENT) {
			let mut q = QueryBuilder::new("INSERT OR REPLACE INTO log (channel, seq, digest) ");
			q.push_values(chunk, |mut b, (seq, d)| {
				b.push_bind(id.clone()).push_bind(*seq as i64).push_bind(d.0.to_vec());
			});
			q.build().execute(&mut *tx).await?;
		}
		sqlx::query(
			"UPDATE channels SET state = ?, requester_sig = ?, verifier_sig = ?, pending = NULL, \
			 pending_sig = NULL WHERE id = ?",
		)
		.bind(state.encode())
		.bind(requester_sig.encode())
		.bind(verifier_sig.encode())
		.bind(&id)
		.execute(&mut *tx)
		.await?;
		let set_bill = |status: &'static str, ph: Hash, key: Option<&BillKey>| {
			bill_update(&id, status, ph, key)
		};
		for h in state
			.htlcs
			.iter()
			.filter(|h| !old.htlcs.iter().any(|o| o.payment_hash == h.payment_hash))
		{
			set_bill("pending", h.payment_hash, bill_key).execute(&mut *tx).await?;
		}
		for ph in crate::protocol::resolved_by(&old, state) {
			set_bill("resolved", ph, None).execute(&mut *tx).await?;
		}
		Self::mark_attested(&mut tx, &state.channel_id, state.log.size).await?;
		tx.commit().await?;
		Ok(())
	}

	/// Requester: the items `billed` at slots the agreed log holds (`seq < size`, with their
	/// digest there) are attested.
	async fn mark_attested(
		conn: &mut sqlx::SqliteConnection,
		channel: &Hash,
		size: u64,
	) -> Result<()> {
		sqlx::query(
			"UPDATE items SET status = 'attested' WHERE status = 'billed' AND channel = ?1 AND \
			 seq < ?2 AND digest = (SELECT digest FROM log WHERE log.channel = ?1 AND log.seq = \
			 items.seq)",
		)
		.bind(channel.0.to_vec())
		.bind(size as i64)
		.execute(conn)
		.await?;
		Ok(())
	}

	/// Requester, on start: repair what an older version left when it stopped between
	/// recording a countersigned state and marking its items (see [`Store::set_latest`]).
	pub async fn reconcile_items(&self, channel: &Hash) -> Result<()> {
		let row = self.channel(channel).await?;
		let mut conn = self.pool.acquire().await?;
		Self::mark_attested(&mut conn, channel, row.state.log.size).await
	}

	/// Every digest of the channel's log, in order.
	pub async fn log(&self, channel: &Hash) -> Result<Vec<Hash>> {
		let rows: Vec<Vec<u8>> =
			sqlx::query_scalar("SELECT digest FROM log WHERE channel = ? ORDER BY seq")
				.bind(channel.0.to_vec())
				.fetch_all(&self.pool)
				.await?;
		rows.iter().map(|b| hash(b)).collect()
	}

	/// Mark the channel anchored up to `size` / closed.
	pub async fn set_anchored(&self, channel: &Hash, size: u64, closed: bool) -> Result<()> {
		sqlx::query(
			"UPDATE channels SET anchored = MAX(anchored, ?), closed = MAX(closed, ?) WHERE id = ?",
		)
		.bind(size as i64)
		.bind(closed as i64)
		.bind(channel.0.to_vec())
		.execute(&self.pool)
		.await?;
		Ok(())
	}

	/// Keep a bill (and, verifier, its key) for `digests`. `status`: `open` (issued, no
	/// state yet), `pending` (in a state both signed), `resolved`, `claimed`, `refunded`.
	pub async fn put_bill(
		&self,
		channel: &Hash,
		bill: &Bill,
		signature: Option<&MultiSignature>,
		key: Option<&BillKey>,
		digests: &[Hash],
		status: &str,
	) -> Result<()> {
		sqlx::query(
			"INSERT INTO bills (channel, payment_hash, bill, signature, bill_key, digests, status) \
			 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, payment_hash) DO UPDATE SET \
			 status = excluded.status, bill_key = COALESCE(bills.bill_key, excluded.bill_key)",
		)
		.bind(channel.0.to_vec())
		.bind(bill.payment_hash.0.to_vec())
		.bind(bill.encode())
		.bind(signature.map(|s| s.encode()))
		.bind(key.map(|k| k.0.to_vec()))
		.bind(digests.encode())
		.bind(status)
		.execute(&self.pool)
		.await?;
		Ok(())
	}

	/// A bill by payment hash: the bill, its signature, key (if known), digests, status.
	pub async fn bill(&self, channel: &Hash, payment_hash: &Hash) -> Result<Option<BillRow>> {
		let r = sqlx::query("SELECT * FROM bills WHERE channel = ? AND payment_hash = ?")
			.bind(channel.0.to_vec())
			.bind(payment_hash.0.to_vec())
			.fetch_optional(&self.pool)
			.await?;
		r.map(|r| Self::bill_row(&r)).transpose()
	}

	/// Bills of a channel with `status`.
	pub async fn bills(&self, channel: &Hash, status: &str) -> Result<Vec<BillRow>> {
		let rows =
			sqlx::query("SELECT * FROM bills WHERE channel = ? AND status = ? ORDER BY rowid")
				.bind(channel.0.to_vec())
				.bind(status)
				.fetch_all(&self.pool)
				.await?;
		rows.iter().map(Self::bill_row).collect()
	}

	fn bill_row(r: &sqlx::sqlite::SqliteRow) -> Result<BillRow> {
		let key: Option<Vec<u8>> = r.try_get("bill_key")?;
		let sig: Option<Vec<u8>> = r.try_get("signature")?;
		Ok(BillRow {
			bill: dec(&r.try_get::<Vec<u8>, _>("bill")?, "bill")?,
			signature: sig.map(|s| dec(&s, "bill signature")).transpose()?,
			key: key.map(|k| key32(&k).map(BillKey)).transpose()?,
			digests: dec(&r.try_get::<Vec<u8>, _>("digests")?, "bill digests")?,
			status: r.try_get("status")?,
		})
	}

	/// Set a bill's status (and its key, once learned).
	pub async fn set_bill(
		&self,
		channel: &Hash,
		payment_hash: &Hash,
		status: &str,
		key: Option<&BillKey>,
	) -> Result<()> {
		bill_update(&channel.0, status, *payment_hash, key).execute(&self.pool).await?;
		Ok(())
	}

	/// Verifier: items received and checked for a channel.
	pub async fn put_received(&self, channel: &Hash, items: &[(Hash, u64)]) -> Result<()> {
		let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
		for chunk in items.chunks(ROWS_PER_STATEMENT) {
			let mut q =
				QueryBuilder::new("INSERT OR IGNORE INTO received (channel, digest, size) ");
			q.push_values(chunk, |mut b, (d, size)| {
				b.push_bind(channel.0.to_vec()).push_bind(d.0.to_vec()).push_bind(*size as i64);
			});
			q.build().execute(&mut *tx).await?;
		}
		tx.commit().await?;
		Ok(())
	}

	/// Verifier: which of `digests` were not received (checked) in `channel`.
	pub async fn missing_received(&self, channel: &Hash, digests: &[Hash]) -> Result<Vec<Hash>> {
		let mut found = std::collections::HashSet::new();
		let mut conn = self.pool.acquire().await?;
		for chunk in digests.chunks(500) {
			let mut q = QueryBuilder::new("SELECT digest FROM received WHERE channel = ");
			q.push_bind(channel.0.to_vec()).push(" AND digest IN (");
			let mut list = q.separated(", ");
			for d in chunk {
				list.push_bind(d.0.to_vec());
			}
			q.push(")");
			let rows: Vec<Vec<u8>> = q.build_query_scalar().fetch_all(&mut *conn).await?;
			for r in rows {
				found.insert(hash(&r)?);
			}
		}
		Ok(digests.iter().filter(|d| !found.contains(d)).copied().collect())
	}

	/// Requester: an item by path.
	pub async fn item(&self, path: &str) -> Result<Option<ItemRow>> {
		let r = sqlx::query("SELECT * FROM items WHERE path = ?")
			.bind(path)
			.fetch_optional(&self.pool)
			.await?;
		r.map(|r| Self::item_row(&r)).transpose()
	}

	/// Requester: the items known at `paths`, by path (one query per 500 paths).
	pub async fn items_at(&self, paths: &[String]) -> Result<HashMap<String, ItemRow>> {
		let mut out = HashMap::new();
		for chunk in paths.chunks(500) {
			let sql = format!(
				"SELECT * FROM items WHERE path IN ({})",
				(1..=chunk.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(",")
			);
			let mut q = sqlx::query(&sql);
			for p in chunk {
				q = q.bind(p);
			}
			for r in q.fetch_all(&self.pool).await? {
				let row = Self::item_row(&r)?;
				out.insert(row.path.clone(), row);
			}
		}
		Ok(out)
	}

	fn item_row(r: &sqlx::sqlite::SqliteRow) -> Result<ItemRow> {
		let channel: Option<Vec<u8>> = r.try_get("channel")?;
		let seq: Option<i64> = r.try_get("seq")?;
		Ok(ItemRow {
			path: r.try_get("path")?,
			size: r.try_get::<i64, _>("size")? as u64,
			mtime: r.try_get("mtime")?,
			digest: hash(&r.try_get::<Vec<u8>, _>("digest")?)?,
			slot: match (channel, seq) {
				(Some(c), Some(s)) => Some((hash(&c)?, s as u64)),
				_ => None,
			},
			status: r.try_get("status")?,
		})
	}

	/// Requester: items with `status`.
	pub async fn items(&self, status: &str) -> Result<Vec<ItemRow>> {
		let rows = sqlx::query("SELECT * FROM items WHERE status = ? ORDER BY channel, seq")
			.bind(status)
			.fetch_all(&self.pool)
			.await?;
		rows.iter().map(Self::item_row).collect()
	}

	/// Requester: write items (insert or replace), in one transaction. Items of another path
	/// still `billed` in a channel at or past the lowest slot given (billed by an attempt whose
	/// state was never agreed) lose their slot and go back to `hashed`.
	pub async fn put_items(&self, items: &[ItemRow]) -> Result<()> {
		let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
		// Items billed at these slots by an attempt that was never agreed (the agent stopped
		// before the state was countersigned) are billed no more: the slots go to `items`.
		let mut slots: HashMap<Hash, u64> = HashMap::new();
		for (c, seq) in items.iter().filter_map(|i| i.slot) {
			let first = slots.entry(c).or_insert(seq);
			*first = (*first).min(seq);
		}
		for (c, first) in slots {
			sqlx::query(
				"UPDATE items SET status = 'hashed', channel = NULL, seq = NULL WHERE status = \
				 'billed' AND channel = ? AND seq >= ?",
			)
			.bind(c.0.to_vec())
			.bind(first as i64)
			.execute(&mut *tx)
			.await?;
		}
		for chunk in items.chunks(ROWS_PER_STATEMENT) {
			let mut q = QueryBuilder::new(
				"INSERT OR REPLACE INTO items (path, size, mtime, digest, channel, seq, status) ",
			);
			q.push_values(chunk, |mut b, i| {
				b.push_bind(i.path.clone())
					.push_bind(i.size as i64)
					.push_bind(i.mtime)
					.push_bind(i.digest.0.to_vec())
					.push_bind(i.slot.map(|s| s.0 .0.to_vec()))
					.push_bind(i.slot.map(|s| s.1 as i64))
					.push_bind(i.status.clone());
			});
			q.build().execute(&mut *tx).await?;
		}
		tx.commit().await?;
		Ok(())
	}

	/// Requester: set the status of the items at `paths`. Autocommit statements of up to 500
	/// paths, no transaction: this runs in futures that may wait unpolled (uploads), and a
	/// transaction held across such a wait would keep the write lock from everyone else.
	pub async fn set_items_status(&self, paths: &[String], status: &str) -> Result<()> {
		for chunk in paths.chunks(500) {
			let marks = vec!["?"; chunk.len()].join(", ");
			let sql = format!("UPDATE items SET status = ? WHERE path IN ({marks})");
			let mut q = sqlx::query(&sql).bind(status);
			for p in chunk {
				q = q.bind(p);
			}
			q.execute(&self.pool).await?;
		}
		Ok(())
	}
}

/// A stored bill.
#[derive(Debug, Clone)]
pub struct BillRow {
	/// The bill.
	pub bill: Bill,
	/// The verifier's signature on it.
	pub signature: Option<MultiSignature>,
	/// Its key, if known.
	pub key: Option<BillKey>,
	/// The items it bills.
	pub digests: Vec<Hash>,
	/// `open`, `pending`, `resolved`, `claimed`, `refunded`.
	pub status: String,
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::protocol::{next_state, Transition};
	use attest_primitives::{payment_hash, sha256, ItemRange, LogHead};
	use sp_core::{sr25519, Pair};

	fn opening() -> ChannelState {
		ChannelState {
			channel_id: Hash([7; 32]),
			nonce: 0,
			requester_balance: 1_000,
			verifier_balance: 0,
			htlcs: Default::default(),
			log: LogHead::empty(),
			finality: attest_primitives::Finality::Open,
		}
	}

	async fn store_with_channel(dir: &Path) -> Store {
		let store = Store::open(&dir.join("agent.db")).await.unwrap();
		store
			.add_channel(&ChannelRow {
				id: Hash([7; 32]),
				role: Party::Requester,
				requester: [1; 32],
				verifier: [2; 32],
				endpoint: "http://127.0.0.1:1".into(),
				state: opening(),
				requester_signature: None,
				verifier_signature: None,
				pending: None,
				anchored: 0,
				closed: false,
				closing: None,
			})
			.await
			.unwrap();
		store
	}

	fn sig() -> MultiSignature {
		sr25519::Pair::from_seed(&[3; 32]).sign(b"x").into()
	}

	/// After its own close an agent signs only the final state naming it: `will_sign` and the
	/// last write before a signature leaves (`set_pending` for the requester, `set_latest` for
	/// the verifier) refuse everything else, also a state whose `will_sign` passed before the
	/// close was recorded. The close is recorded once; a close prepared from a state older
	/// than the newest both signed is refused. A database of the version before the column
	/// opens and is migrated.
	#[tokio::test]
	async fn after_its_own_close_an_agent_signs_only_the_final_state_naming_it() {
		let dir = tempfile::tempdir().unwrap();
		let store = store_with_channel(dir.path()).await;
		let id = Hash([7; 32]);
		let s1 =
			ChannelState { nonce: 1, requester_balance: 900, verifier_balance: 100, ..opening() };
		store.will_sign(&s1).await.unwrap();
		store.set_latest(&s1, &sig(), &sig(), &[], None).await.unwrap();
		// Prepared from state 0 while 1 is the newest: refused.
		assert!(matches!(
			store.will_close(&id, 0, 0).await,
			Err(StoreError::CloseRace { newest: 1, .. })
		));
		// A state whose will_sign passed before the close.
		let s2 = ChannelState { nonce: 2, ..s1.clone() };
		store.will_sign(&s2).await.unwrap();
		store.will_close(&id, 1, 1).await.unwrap();
		store.will_close(&id, 1, 1).await.unwrap();
		assert!(matches!(store.will_close(&id, 2, 1).await, Err(StoreError::CloseRace { .. })));
		assert_eq!(store.channel(&id).await.unwrap().closing, Some(1));
		let refused = |e: Result<()>| {
			matches!(
				e,
				Err(StoreError::ClosedByUs { closed_nonce: 1, party: Party::Requester, .. })
			)
		};
		assert!(refused(store.set_pending(&s2, &sig()).await), "its signature must not leave");
		let s3 = ChannelState { nonce: 3, ..s1.clone() };
		for finality in [
			Finality::Open,
			Finality::Final,
			Finality::EndsClose { closer: Party::Verifier, closed_nonce: 1 },
			Finality::EndsClose { closer: Party::Requester, closed_nonce: 0 },
			Finality::EndsClose { closer: Party::Requester, closed_nonce: 2 },
		] {
			let s = ChannelState { finality, ..s3.clone() };
			assert!(refused(store.will_sign(&s).await), "{finality:?}");
		}
		let ok = ChannelState {
			finality: Finality::EndsClose { closer: Party::Requester, closed_nonce: 1 },
			..s3.clone()
		};
		store.will_sign(&ok).await.unwrap();
		store.set_pending(&ok, &sig()).await.unwrap();
		// The counterparty's late countersignature of a state is recorded (receiving is not
		// signing), for the requester.
		store.set_latest(&s2, &sig(), &sig(), &[], None).await.unwrap();
		assert_eq!(store.channel(&id).await.unwrap().state.nonce, 2);

		// The verifier: its countersignature leaves after set_latest, which refuses.
		let v = Store::open(&dir.path().join("verifier.db")).await.unwrap();
		let mut row = store.channel(&id).await.unwrap();
		row.role = Party::Verifier;
		row.state = opening();
		v.add_channel(&row).await.unwrap();
		let s1v = ChannelState { nonce: 1, ..s1 };
		v.will_sign(&s1v).await.unwrap();
		v.will_close(&id, 0, 0).await.unwrap();
		assert!(matches!(
			v.set_latest(&s1v, &sig(), &sig(), &[], None).await,
			Err(StoreError::ClosedByUs { party: Party::Verifier, closed_nonce: 0, .. })
		));
		assert_eq!(v.channel(&id).await.unwrap().state.nonce, 0);
		drop(v);

		// A database made before the column (user_version 0) gains it on open.
		let old = dir.path().join("old.db");
		{
			let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", old.display()))
				.unwrap()
				.create_if_missing(true);
			let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
			sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
			pool.close().await;
		}
		let migrated = Store::open(&old).await.unwrap();
		migrated.add_channel(&row).await.unwrap();
		assert_eq!(migrated.channel(&id).await.unwrap().closing, None);
		drop(migrated);
		let again = Store::open(&old).await.unwrap();
		assert_eq!(again.channel(&id).await.unwrap().closing, None);
	}

	/// The multi-row statements: batches that span several statements (and a second batch
	/// after them) keep every row and its order; `missing_received` names exactly the digests
	/// not received, in the order asked, across its chunks and for duplicates.
	#[tokio::test]
	async fn rows_written_many_per_statement_are_all_there_in_order() {
		let dir = tempfile::tempdir().unwrap();
		let store = store_with_channel(dir.path()).await;
		let channel = Hash([7; 32]);
		let digests: Vec<Hash> = (0u32..1_200).map(|i| sha256(&i.to_le_bytes())).collect();
		// Received: every third digest is missing.
		let received: Vec<(Hash, u64)> = digests
			.iter()
			.enumerate()
			.filter(|(i, _)| i % 3 != 0)
			.map(|(i, d)| (*d, i as u64))
			.collect();
		store.put_received(&channel, &received[..700]).await.unwrap();
		store.put_received(&channel, &received[650..]).await.unwrap();
		let mut asked = digests.clone();
		asked.push(digests[0]);
		let expected: Vec<Hash> =
			asked.iter().enumerate().filter(|(i, _)| i % 3 == 0).map(|(_, d)| *d).collect();
		assert_eq!(store.missing_received(&channel, &asked).await.unwrap(), expected);
		assert!(store.missing_received(&channel, &[]).await.unwrap().is_empty());

		// The log: 70 digests (three statements), then 5 more.
		let mut state = opening();
		for part in [&digests[..70], &digests[70..75]] {
			let mut next = state.clone();
			next.nonce += 1;
			next.log.size += part.len() as u64;
			store.set_latest(&next, &sig(), &sig(), part, None).await.unwrap();
			state = next;
		}
		assert_eq!(store.log(&channel).await.unwrap(), digests[..75].to_vec());

		// Items: 100 in one call.
		let items: Vec<ItemRow> = (0..100)
			.map(|i| ItemRow {
				path: format!("/f{i}"),
				size: i,
				mtime: i as i64,
				digest: digests[i as usize],
				slot: (i % 2 == 0).then_some((channel, 1_000 + i)),
				status: if i % 2 == 0 { "billed".into() } else { "hashed".into() },
			})
			.collect();
		store.put_items(&items).await.unwrap();
		let paths: Vec<String> = items.iter().map(|i| i.path.clone()).collect();
		let got = store.items_at(&paths).await.unwrap();
		assert_eq!(got.len(), 100);
		for i in &items {
			assert_eq!(got[&i.path], *i);
		}
	}

	/// A requester that stops right after recording the countersigned state must not find its
	/// items still `billed` (it would attest them again at new slots, leaving gaps in its log
	/// and paying twice) nor the bill without the key it learned (it could not resolve it).
	#[tokio::test]
	async fn a_countersigned_state_marks_its_items_and_bills_in_the_same_transaction() {
		let dir = tempfile::tempdir().unwrap();
		let store = store_with_channel(dir.path()).await;
		let channel = Hash([7; 32]);
		let digests: Vec<Hash> = (0u8..3).map(|i| sha256(&[i])).collect();
		let key = BillKey([9; 32]);
		let bill = Bill {
			items: ItemRange::of_digests(0, &digests),
			amount: 30,
			payment_hash: payment_hash(&key),
			expiry: 100,
		};
		store.put_bill(&channel, &bill, None, None, &digests, "open").await.unwrap();
		// An earlier attempt, never agreed, billed another file at slot 1.
		let old = ItemRow {
			path: "/old".into(),
			size: 1,
			mtime: 0,
			digest: sha256(b"old"),
			slot: Some((channel, 1)),
			status: "billed".into(),
		};
		store.put_items(&[old]).await.unwrap();
		let items: Vec<ItemRow> = digests
			.iter()
			.enumerate()
			.map(|(i, d)| ItemRow {
				path: format!("/f{i}"),
				size: 1,
				mtime: 0,
				digest: *d,
				slot: Some((channel, i as u64)),
				status: "billed".into(),
			})
			.collect();
		store.put_items(&items).await.unwrap();
		// An item billed in an earlier, never-signed attempt at a slot past the new log stays.
		store
			.put_items(&[ItemRow {
				path: "/later".into(),
				slot: Some((channel, 3)),
				..items[0].clone()
			}])
			.await
			.unwrap();
		let s1 = next_state(
			&opening(),
			&Transition {
				bill: Some((&bill, LogHead::of_digests(&digests))),
				..Default::default()
			},
		)
		.unwrap();
		store.will_sign(&s1).await.unwrap();
		store.set_latest(&s1, &sig(), &sig(), &digests, Some(&key)).await.unwrap();

		let attested: Vec<String> =
			store.items("attested").await.unwrap().into_iter().map(|i| i.path).collect();
		assert_eq!(attested, ["/f0", "/f1", "/f2"]);
		let billed: Vec<String> =
			store.items("billed").await.unwrap().into_iter().map(|i| i.path).collect();
		assert_eq!(billed, ["/later"]);
		let old = store.item("/old").await.unwrap().unwrap();
		assert_eq!((old.status.as_str(), old.slot), ("hashed", None));
		let b = store.bill(&channel, &bill.payment_hash).await.unwrap().unwrap();
		assert_eq!((b.status.as_str(), b.key), ("pending", Some(key)));
		assert_eq!(store.log(&channel).await.unwrap(), digests);

		// The state resolving the HTLC marks its bill resolved, with it.
		let s2 =
			next_state(&s1, &Transition { resolve: &[bill.payment_hash], ..Default::default() })
				.unwrap();
		store.will_sign(&s2).await.unwrap();
		store.set_latest(&s2, &sig(), &sig(), &[], None).await.unwrap();
		let b = store.bill(&channel, &bill.payment_hash).await.unwrap().unwrap();
		assert_eq!((b.status.as_str(), b.key), ("resolved", Some(key)));
		// A retried confirmation of an older state changes nothing.
		store.set_latest(&s1, &sig(), &sig(), &digests, Some(&key)).await.unwrap();
		assert_eq!(store.channel(&channel).await.unwrap().state, s2);
		assert_eq!(
			store.bill(&channel, &bill.payment_hash).await.unwrap().unwrap().status,
			"resolved"
		);
	}

	/// A database left by a version that stopped between the two steps is repaired on start.
	#[tokio::test]
	async fn billed_items_the_agreed_log_holds_are_reconciled() {
		let dir = tempfile::tempdir().unwrap();
		let store = store_with_channel(dir.path()).await;
		let channel = Hash([7; 32]);
		let d = sha256(b"a");
		let mut s1 = opening();
		s1.nonce = 1;
		s1.log = LogHead::of_digests(&[d]);
		// The old order: the state and its log recorded, the items not yet marked.
		sqlx::query("UPDATE channels SET state = ? WHERE id = ?")
			.bind(s1.encode())
			.bind(channel.0.to_vec())
			.execute(&store.pool)
			.await
			.unwrap();
		sqlx::query("INSERT INTO log (channel, seq, digest) VALUES (?, 0, ?)")
			.bind(channel.0.to_vec())
			.bind(d.0.to_vec())
			.execute(&store.pool)
			.await
			.unwrap();
		let row = |path: &str, seq| ItemRow {
			path: path.into(),
			size: 1,
			mtime: 0,
			digest: d,
			slot: Some((channel, seq)),
			status: "billed".into(),
		};
		store.put_items(&[row("/in", 0), row("/past", 1)]).await.unwrap();
		// A row whose digest is not the log's at its slot is not the item agreed there.
		let other = ItemRow { digest: sha256(b"b"), ..row("/other", 0) };
		sqlx::query("INSERT INTO items (path, size, mtime, digest, channel, seq, status) VALUES (?, 1, 0, ?, ?, 0, 'billed')")
			.bind(&other.path)
			.bind(other.digest.0.to_vec())
			.bind(channel.0.to_vec())
			.execute(&store.pool)
			.await
			.unwrap();
		store.reconcile_items(&channel).await.unwrap();
		let paths = |v: Vec<ItemRow>| v.into_iter().map(|i| i.path).collect::<Vec<_>>();
		assert_eq!(paths(store.items("attested").await.unwrap()), ["/in"]);
		assert_eq!(paths(store.items("billed").await.unwrap()), ["/other", "/past"]);
	}
}
