//! Items' data: small data kept in the database, the index of blobs in the blob store, and
//! the channels' proofs of possession.

use super::{dialect::placeholders, *};

impl Store {
	/// The data part of [`Store::submit_with`], inside its transaction: small data's bytes,
	/// index rows of blobs in the blob store, possession. Returns the bytes new here.
	pub(super) async fn insert_data(
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

	/// Remove blob `digest` from the index (the file is the caller's business).
	pub async fn forget_blob(&self, digest: &Hash) -> Result<()> {
		let _w = self.write_guard().await;
		sqlx::query("DELETE FROM blobs WHERE digest = $1")
			.bind(digest.0.to_vec())
			.execute(&self.pool)
			.await?;
		Ok(())
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
}
