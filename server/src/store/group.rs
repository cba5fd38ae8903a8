//! Group commit: submissions that arrive while every writer's place is taken wait, and the
//! next writer commits all of them in one transaction (one `fsync` for many requests), each
//! still answered on its own once the group committed.

use super::{dialect::retrying, *};

/// Groups of submissions committed at once on PostgreSQL (each in a transaction of its own).
pub(super) const PG_GROUP_WRITERS: usize = 2;

/// A submission waiting to be committed with its group.
pub(super) struct Pending {
	records: Vec<Record>,
	data: BatchData,
	reply: Reply,
}

/// Where a grouped submission's answers go.
pub(super) type Reply = tokio::sync::oneshot::Sender<Result<(Vec<Submitted>, u64)>>;

impl Store {
	pub(super) async fn write_guard(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
		match self.backend {
			// Never closed: no error to see.
			Backend::Sqlite => self.writers.acquire().await.ok(),
			Backend::Postgres => None,
		}
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
	pub(super) async fn submit_grouped(
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
	pub(super) async fn commit_group(&self, group: Vec<Pending>) {
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
	pub(super) async fn submit_retrying(
		&self,
		records: &[Record],
		data: &BatchData,
	) -> Result<(Vec<Submitted>, u64)> {
		retrying(|| self.submit_once(records, data)).await
	}
}
