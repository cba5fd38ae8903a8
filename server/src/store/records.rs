//! Records: storing a batch (`submit_once`, run by the group commit), and reading the claims
//! of a digest.

use super::{
	dialect::{channel_lock_key, placeholders},
	*,
};
use std::collections::BTreeMap;

/// Count a submission of records in channel `$1`, when it has anchors still to complete
/// (only those are checked again when the version moves; an anchor accepted later is
/// checked anyway).
pub(super) const BUMP_VERSION: &str =
	"UPDATE channels SET version = version + 1 WHERE channel_id = $1 \
	AND EXISTS (SELECT 1 FROM anchors a WHERE a.channel_id = $1 AND a.complete = 0)";

/// The batch's channels and slot ranges, in one order (the order of every lock).
fn slot_ranges(records: &[Record]) -> Result<BTreeMap<ChannelId, (i64, i64)>> {
	let mut ranges: BTreeMap<ChannelId, (i64, i64)> = BTreeMap::new();
	for r in records {
		let seq = seq_i64(r.claim().seq)?;
		let e = ranges.entry(r.channel_id()).or_insert((seq, seq));
		e.0 = e.0.min(seq);
		e.1 = e.1.max(seq);
	}
	Ok(ranges)
}

/// The answer for each record: what inserting it did, and what the other claims of its
/// digest and the other party's record of its slot say.
fn answers(
	records: &[Record],
	outcomes: Vec<Option<Outcome>>,
	differing: &HashMap<(ChannelId, Seq, i64), Hash>,
	counts: &HashMap<Hash, i64>,
	conflicts: &HashMap<usize, (Option<Hash>, i64)>,
) -> Vec<Submitted> {
	records
		.iter()
		.zip(outcomes)
		.enumerate()
		.map(|(i, (r, o))| {
			let claim = r.claim();
			let other_party = party_column(r.party().other());
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
		.collect()
}

impl Store {
	/// One submission's transaction, step by step: lock the channels (PostgreSQL), store the
	/// data, insert the records, match them to what the channels' anchors say, count the
	/// claims of each digest, look at the conflicts, commit; then the answers.
	pub(super) async fn submit_once(
		&self,
		records: &[Record],
		data: &BatchData,
	) -> Result<(Vec<Submitted>, u64)> {
		let ranges = slot_ranges(records)?;
		let mut tx = self.pool.begin().await?;
		self.lock_channels_shared(&mut tx, ranges.keys()).await?;
		let new_bytes = Self::insert_data(&mut tx, self.backend, data).await?;
		let outcomes = self.insert_records(&mut tx, records).await?;
		let differing = self.match_to_anchors(&mut tx, &ranges).await?;
		let counts = self.count_claims(&mut tx, records).await?;
		let conflicts = Self::conflicts(&mut tx, records, &outcomes).await?;
		tx.commit().await?;
		if self.backend == Backend::Postgres {
			self.bump_versions(ranges.keys()).await?;
		}
		Ok((answers(records, outcomes, &differing, &counts, &conflicts), new_bytes))
	}

	/// PostgreSQL: take each channel's advisory lock, shared: submissions never wait for each
	/// other here, only for an anchor being completed in the channel (see
	/// `complete_anchor_once`).
	async fn lock_channels_shared(
		&self,
		tx: &mut sqlx::Transaction<'_, sqlx::Any>,
		channels: impl Iterator<Item = &ChannelId>,
	) -> Result<()> {
		if self.backend == Backend::Postgres {
			for id in channels {
				sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
					.bind(channel_lock_key(id))
					.execute(&mut **tx)
					.await?;
			}
		}
		Ok(())
	}

	/// Insert the records in slot order, multi-row; what each did, in the order given.
	async fn insert_records(
		&self,
		tx: &mut sqlx::Transaction<'_, sqlx::Any>,
		records: &[Record],
	) -> Result<Vec<Option<Outcome>>> {
		let mut outcomes: Vec<Option<Outcome>> = vec![None; records.len()];
		let now = now_ms();
		let mut order: Vec<usize> = (0..records.len()).collect();
		order.sort_by_key(|&i| {
			let r = &records[i];
			(r.channel_id(), r.claim().seq, party_column(r.party()))
		});
		// SQLite (one writer, this one): the slots taken already are read first and the
		// rows go in without RETURNING, which costs sqlx a message per row. PostgreSQL
		// (other processes may insert the same slots meanwhile): RETURNING says which rows
		// this statement inserted.
		let taken = match self.backend {
			Backend::Sqlite => Some(Self::taken_slots(tx, records).await?),
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
					.bind(party_column(r.party()))
					.bind(claim.digest.0.to_vec())
					.bind(claim.payment_hash.0.to_vec())
					.bind(scale(r))
					.bind(now);
			}
			let slot_of = |r: &Record| -> Result<(ChannelId, i64, i64)> {
				Ok((r.channel_id(), seq_i64(r.claim().seq)?, party_column(r.party())))
			};
			let new_slots: HashSet<(ChannelId, i64, i64)> = match &taken {
				Some(taken) => {
					q.execute(&mut **tx).await?;
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
					for row in q.fetch_all(&mut **tx).await? {
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
					Self::compare(tx, r).await?
				});
			}
		}
		Ok(outcomes)
	}

	/// Per channel: count the submission in its version (SQLite here; PostgreSQL after the
	/// commit, see [`Store::bump_versions`]), match records of slots whose anchored digest is
	/// known, and return the slots where the two parties' records differ.
	async fn match_to_anchors(
		&self,
		tx: &mut sqlx::Transaction<'_, sqlx::Any>,
		ranges: &BTreeMap<ChannelId, (i64, i64)>,
	) -> Result<HashMap<(ChannelId, Seq, i64), Hash>> {
		let mut differing: HashMap<(ChannelId, Seq, i64), Hash> = HashMap::new();
		for (id, (lo, hi)) in ranges {
			let row = sqlx::query(
				"SELECT CAST(COALESCE(MAX(CASE WHEN complete = 1 THEN first_seq + count END), 0) \
				 AS BIGINT) AS anchored_end, \
				 CAST(COUNT(CASE WHEN complete = 0 THEN 1 END) AS BIGINT) AS incomplete \
				 FROM anchors WHERE channel_id = $1",
			)
			.bind(id.0.to_vec())
			.fetch_one(&mut **tx)
			.await?;
			let anchored_end: i64 = row.try_get("anchored_end")?;
			let incomplete: i64 = row.try_get("incomplete")?;
			// SQLite: no anchor is accepted while this writer holds its place, so the count
			// just read decides.
			if self.backend == Backend::Sqlite && incomplete > 0 {
				sqlx::query(BUMP_VERSION).bind(id.0.to_vec()).execute(&mut **tx).await?;
			}
			if *lo < anchored_end {
				Self::adopt_anchored(tx, id, *lo, *hi).await?;
			}
			let rows = sqlx::query(
				"SELECT o.seq, o.party, o.digest FROM records o JOIN records m \
				 ON m.channel_id = o.channel_id AND m.seq = o.seq AND m.party <> o.party \
				 WHERE o.channel_id = $1 AND o.seq >= $2 AND o.seq <= $3 AND o.digest <> m.digest",
			)
			.bind(id.0.to_vec())
			.bind(*lo)
			.bind(*hi)
			.fetch_all(&mut **tx)
			.await?;
			for row in rows {
				let seq: i64 = row.try_get("seq")?;
				let party: i64 = row.try_get("party")?;
				let digest = hash_of(row.try_get("digest")?, "records.digest")?;
				differing.insert((*id, seq as u64, party), digest);
			}
		}
		Ok(differing)
	}

	/// The number of slots claiming each digest of `records`, where more than one does: one
	/// grouped query per chunk.
	async fn count_claims(
		&self,
		tx: &mut sqlx::Transaction<'_, sqlx::Any>,
		records: &[Record],
	) -> Result<HashMap<Hash, i64>> {
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
			for row in q.fetch_all(&mut **tx).await? {
				counts
					.insert(hash_of(row.try_get("digest")?, "records.digest")?, row.try_get("n")?);
			}
		}
		Ok(counts)
	}

	/// A conflicting record's own slot holds another digest: what the other party's record
	/// of the slot says, and the exact count of slots claiming the digest.
	async fn conflicts(
		tx: &mut sqlx::Transaction<'_, sqlx::Any>,
		records: &[Record],
		outcomes: &[Option<Outcome>],
	) -> Result<HashMap<usize, (Option<Hash>, i64)>> {
		let mut conflicts: HashMap<usize, (Option<Hash>, i64)> = HashMap::new();
		for (i, o) in outcomes.iter().enumerate() {
			if let Some(Outcome::Conflict(_)) = o {
				let r = &records[i];
				let other = sqlx::query_scalar::<_, Vec<u8>>(
					"SELECT digest FROM records WHERE channel_id = $1 AND seq = $2 AND party = $3",
				)
				.bind(r.channel_id().0.to_vec())
				.bind(seq_i64(r.claim().seq)?)
				.bind(party_column(r.party().other()))
				.fetch_optional(&mut **tx)
				.await?
				.map(|d| hash_of(d, "records.digest"))
				.transpose()?;
				let n: i64 = sqlx::query_scalar(
					"SELECT COUNT(*) FROM (SELECT DISTINCT channel_id, seq FROM records \
					 WHERE digest = $1) t",
				)
				.bind(r.claim().digest.0.to_vec())
				.fetch_one(&mut **tx)
				.await?;
				conflicts.insert(i, (other, n));
			}
		}
		Ok(conflicts)
	}

	/// PostgreSQL: count a submission in each channel's version (which makes its incomplete
	/// anchors be checked again) after the records' commit, one statement per channel,
	/// committed without waiting for the disk: the row is a hot spot that every submission
	/// to the channel writes, and inside the records' transaction it would make them commit
	/// one after another. A version lost in a crash costs nothing: at start every incomplete
	/// anchor is checked again ([`Store::open`]).
	pub(super) async fn bump_versions<'a>(
		&self,
		channels: impl Iterator<Item = &'a ChannelId>,
	) -> Result<()> {
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
	pub(super) async fn taken_slots(
		tx: &mut sqlx::Transaction<'_, sqlx::Any>,
		records: &[Record],
	) -> Result<HashSet<(ChannelId, i64, i64)>> {
		let mut ranges: std::collections::BTreeMap<(ChannelId, i64), (i64, i64)> =
			Default::default();
		for r in records {
			let seq = seq_i64(r.claim().seq)?;
			let e = ranges.entry((r.channel_id(), party_column(r.party()))).or_insert((seq, seq));
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
	pub(super) async fn compare(
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
		.bind(party_column(record.party()))
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
	pub(super) async fn adopt_anchored(
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
					verifier_record: None,
					verifier_at: None,
					requester_record: None,
					requester_at: None,
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
				item.verifier_record = Some(
					FirstRecord::decode(&mut &bytes[..])
						.map_err(|_| StoreError::Corrupt("first record"))?,
				);
				item.verifier_at = Some(at);
			} else {
				item.requester_record = Some(
					SecondRecord::decode(&mut &bytes[..])
						.map_err(|_| StoreError::Corrupt("second record"))?,
				);
				item.requester_at = Some(at);
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
}
