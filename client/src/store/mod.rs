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

impl ChannelRow {
	/// A channel as an agent first learns it from the chain: its state there (the opening
	/// state for a new channel) and the log size anchored so far; nothing signed by the agent
	/// yet, nothing pending, not closed.
	pub fn learned(
		id: Hash,
		role: Party,
		requester: [u8; 32],
		verifier: [u8; 32],
		endpoint: String,
		state: ChannelState,
		anchored: u64,
	) -> Self {
		ChannelRow {
			id,
			role,
			requester,
			verifier,
			endpoint,
			state,
			requester_signature: None,
			verifier_signature: None,
			pending: None,
			anchored,
			closed: false,
			closing: None,
		}
	}
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
	status: BillStage,
	payment_hash: Hash,
	key: Option<&BillKey>,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
	sqlx::query(
		"UPDATE bills SET status = ?, bill_key = COALESCE(bill_key, ?) WHERE channel = ? AND \
		 payment_hash = ?",
	)
	.bind(status.as_str())
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

	/// Sign `state` with `key`, having recorded it first ([`Store::will_sign`]): the one way
	/// the agents sign a channel state, so that after a crash an agent knows every state it
	/// may have sent and never signs two states with one nonce.
	pub async fn sign_state(
		&self,
		key: &attest_chain::Key,
		genesis: &Hash,
		state: &ChannelState,
	) -> Result<MultiSignature> {
		self.will_sign(state).await?;
		Ok(key.sign(attest_primitives::signing::Kind::State, genesis, &state.channel_id, state))
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
		let set_bill =
			|status: BillStage, ph: Hash, key: Option<&BillKey>| bill_update(&id, status, ph, key);
		for h in crate::protocol::added_by(&old, state) {
			set_bill(BillStage::Pending, h.payment_hash, bill_key).execute(&mut *tx).await?;
		}
		for ph in crate::protocol::resolved_by(&old, state) {
			set_bill(BillStage::Resolved, ph, None).execute(&mut *tx).await?;
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
}

mod items;
pub use items::{BillRow, BillStage, ItemRow, ItemStage};

#[cfg(test)]
mod tests;
