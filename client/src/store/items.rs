//! Bills (both parties), items received (verifier) and the requester's items by path, with
//! where each stands.

use super::*;

/// Where a requester's item stands (column `items.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemStage {
	/// Hashed, not billed yet.
	Hashed,
	/// Billed at a slot of a channel, in a state not yet agreed.
	Billed,
	/// In a state both parties signed.
	Attested,
	/// Its records (and data) are on the attestation server.
	Done,
}

/// Where a bill stands (column `bills.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillStage {
	/// Issued, in no agreed state yet.
	Open,
	/// Its HTLC is in a state both parties signed.
	Pending,
	/// A later agreed state resolved its HTLC (paid).
	Resolved,
	/// Claimed on chain with its key (verifier, after a close).
	Claimed,
	/// Refunded on chain after expiry (requester, after a close).
	Refunded,
}

/// The words stored for a stage, one table each way.
macro_rules! stored_words {
	($ty:ident { $($variant:ident => $word:literal),* $(,)? }) => {
		impl $ty {
			/// The word stored in the database.
			pub fn as_str(self) -> &'static str {
				match self {
					$($ty::$variant => $word,)*
				}
			}

			fn parse(word: &str) -> Result<Self> {
				match word {
					$($word => Ok($ty::$variant),)*
					_ => Err(StoreError::Corrupt(stringify!($ty))),
				}
			}
		}
	};
}

stored_words!(ItemStage { Hashed => "hashed", Billed => "billed", Attested => "attested", Done => "done" });
stored_words!(BillStage {
	Open => "open",
	Pending => "pending",
	Resolved => "resolved",
	Claimed => "claimed",
	Refunded => "refunded",
});

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
	/// Where it stands.
	pub status: ItemStage,
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
	/// Where it stands.
	pub status: BillStage,
}

impl Store {
	/// Keep a bill (and, verifier, its key) for `digests`, at `status`.
	pub async fn put_bill(
		&self,
		channel: &Hash,
		bill: &Bill,
		signature: Option<&MultiSignature>,
		key: Option<&BillKey>,
		digests: &[Hash],
		status: BillStage,
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
		.bind(status.as_str())
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
	pub async fn bills(&self, channel: &Hash, status: BillStage) -> Result<Vec<BillRow>> {
		let rows =
			sqlx::query("SELECT * FROM bills WHERE channel = ? AND status = ? ORDER BY rowid")
				.bind(channel.0.to_vec())
				.bind(status.as_str())
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
			status: BillStage::parse(r.try_get("status")?)?,
		})
	}

	/// Set a bill's status (and its key, once learned).
	pub async fn set_bill(
		&self,
		channel: &Hash,
		payment_hash: &Hash,
		status: BillStage,
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
			status: ItemStage::parse(r.try_get("status")?)?,
		})
	}

	/// Requester: items with `status`.
	pub async fn items(&self, status: ItemStage) -> Result<Vec<ItemRow>> {
		let rows = sqlx::query("SELECT * FROM items WHERE status = ? ORDER BY channel, seq")
			.bind(status.as_str())
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
					.push_bind(i.status.as_str());
			});
			q.build().execute(&mut *tx).await?;
		}
		tx.commit().await?;
		Ok(())
	}

	/// Requester: set the status of the items at `paths`. Autocommit statements of up to 500
	/// paths, no transaction: this runs in futures that may wait unpolled (uploads), and a
	/// transaction held across such a wait would keep the write lock from everyone else.
	pub async fn set_items_status(&self, paths: &[String], status: ItemStage) -> Result<()> {
		for chunk in paths.chunks(500) {
			let marks = vec!["?"; chunk.len()].join(", ");
			let sql = format!("UPDATE items SET status = ? WHERE path IN ({marks})");
			let mut q = sqlx::query(&sql).bind(status.as_str());
			for p in chunk {
				q = q.bind(p);
			}
			q.execute(&self.pool).await?;
		}
		Ok(())
	}
}
