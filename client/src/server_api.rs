//! The attestation server as the agents use it: signed records (in batches), item data
//! (inline in the record, or streamed with it), and proofs.

use attest_primitives::{AttestationProof, Hash, SecondRecord};
use attest_wire::{
	Batch, BatchResult, ClaimantsAnswer, ClaimantsQuery, ItemStatus, ProofResponse, RECORD_HEADER,
};
pub use attest_wire::{ClaimState, ClaimStatus, Claimant, Record};
use codec::Encode;

/// Items up to this size go inline in their second record; larger ones are streamed.
pub const INLINE_MAX: u64 = 64 * 1024;

/// A server request failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
	/// No answer.
	#[error("attestation server at {url}: {source}")]
	Http {
		/// Server URL.
		url: String,
		/// Why.
		source: reqwest::Error,
	},
	/// An error answer.
	#[error("attestation server answered {status} to {what}: {body}")]
	Status {
		/// What was asked.
		what: String,
		/// HTTP status.
		status: u16,
		/// The body (its JSON error).
		body: String,
	},
	/// A record was refused.
	#[error("attestation server refused the record of item {seq}: {outcome} {message}")]
	Refused {
		/// Item.
		seq: u64,
		/// Outcome word.
		outcome: &'static str,
		/// Message.
		message: String,
	},
	/// The answer did not decode.
	#[error("attestation server sent an unreadable {0}")]
	Decode(&'static str),
	/// The proof it sent cannot be taken.
	#[error("attestation server sent a proof that cannot be taken: {0}")]
	Proof(attest_wire::ProofDecodeError),
	/// A file could not be read.
	#[error("{path}: {source}")]
	File {
		/// Path.
		path: String,
		/// Why.
		source: std::io::Error,
	},
}

/// A client of one attestation server.
#[derive(Clone)]
pub struct Server {
	url: String,
	http: reqwest::Client,
}

impl Server {
	/// A client of the server at `url` (`http://host:port`), giving up on a connection not
	/// accepted within 10 s.
	pub fn new(url: &str) -> Self {
		Self::with_connect_timeout(url, std::time::Duration::from_secs(10))
	}

	/// A client of the server at `url`, giving up on a connection not accepted within
	/// `timeout` (requests themselves are not bounded: uploads of large files take long).
	pub fn with_connect_timeout(url: &str, timeout: std::time::Duration) -> Self {
		let http = reqwest::Client::builder()
			.pool_max_idle_per_host(16)
			.connect_timeout(timeout)
			.build()
			.unwrap_or_else(|_| reqwest::Client::new());
		Server { url: url.trim_end_matches('/').to_string(), http }
	}

	/// Its URL.
	pub fn url(&self) -> &str {
		&self.url
	}

	fn http_err(&self, source: reqwest::Error) -> ServerError {
		ServerError::Http { url: self.url.clone(), source }
	}

	async fn ok(&self, what: &str, r: reqwest::Response) -> Result<reqwest::Response, ServerError> {
		if r.status().is_success() {
			return Ok(r);
		}
		let status = r.status().as_u16();
		let body = r.text().await.unwrap_or_default();
		Err(ServerError::Status { what: what.to_string(), status, body })
	}

	/// Store records in batches of 5,000; every one must be stored (or already be).
	pub async fn submit(&self, mut records: Vec<Record>) -> Result<(), ServerError> {
		while !records.is_empty() {
			let rest = records.split_off(records.len().min(5_000));
			let batch = Batch { records: std::mem::replace(&mut records, rest) };
			let r = self
				.http
				.post(format!("{}/v1/records/batch", self.url))
				.json(&batch)
				.send()
				.await
				.map_err(|e| self.http_err(e))?;
			let r = self.ok("a batch of records", r).await?;
			let answer: BatchResult =
				r.json().await.map_err(|_| ServerError::Decode("batch answer"))?;
			for (rec, res) in batch.records.iter().zip(answer.results) {
				if !res.outcome.is_stored() {
					return Err(ServerError::Refused {
						seq: rec.claim().seq,
						outcome: res.outcome.as_str(),
						message: res.message.unwrap_or_default(),
					});
				}
			}
		}
		Ok(())
	}

	/// Store a second record whose data (the file at `path`) is streamed with it.
	pub async fn submit_streamed(
		&self,
		record: &SecondRecord,
		path: &std::path::Path,
	) -> Result<(), ServerError> {
		let file = tokio::fs::File::open(path)
			.await
			.map_err(|source| ServerError::File { path: path.display().to_string(), source })?;
		let body =
			reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20));
		let r = self
			.http
			.post(format!("{}/v1/records/second/stream", self.url))
			.header(RECORD_HEADER, hex::encode(record.encode()))
			.header("content-type", "application/octet-stream")
			.body(body)
			.send()
			.await
			.map_err(|e| self.http_err(e))?;
		self.ok(&format!("the streamed record of item {}", record.claim.seq), r).await?;
		Ok(())
	}

	/// The claims of a digest, the first attester first (empty when none).
	pub async fn claims(&self, digest: &Hash) -> Result<Vec<ClaimStatus>, ServerError> {
		let r = self
			.http
			.get(format!("{}/v1/items/{digest:?}", self.url))
			.send()
			.await
			.map_err(|e| self.http_err(e))?;
		if r.status().as_u16() == 404 {
			return Ok(Vec::new());
		}
		let r = self.ok("an item lookup", r).await?;
		let s: ItemStatus = r.json().await.map_err(|_| ServerError::Decode("item status"))?;
		Ok(s.claims)
	}

	/// The claims of many digests, by digest (digests without a claim are left out): one
	/// `POST /v1/items/claimants` per 10,000 digests. A server without that endpoint (404 or
	/// 405) is asked digest by digest, 32 at a time.
	pub async fn claims_of(
		&self,
		digests: &[Hash],
	) -> Result<std::collections::HashMap<Hash, Vec<Claimant>>, ServerError> {
		let mut found = std::collections::HashMap::new();
		for chunk in digests.chunks(attest_wire::MAX_CLAIMANTS_LOOKUP) {
			let r = self
				.http
				.post(format!("{}/v1/items/claimants", self.url))
				.json(&ClaimantsQuery { digests: chunk.to_vec() })
				.send()
				.await
				.map_err(|e| self.http_err(e))?;
			if matches!(r.status().as_u16(), 404 | 405) {
				return self.claims_one_by_one(digests).await;
			}
			let r = self.ok("a lookup of claimants", r).await?;
			let answer: ClaimantsAnswer =
				r.json().await.map_err(|_| ServerError::Decode("claimants answer"))?;
			found.extend(answer.items.into_iter().map(|i| (i.digest, i.claimants)));
		}
		Ok(found)
	}

	async fn claims_one_by_one(
		&self,
		digests: &[Hash],
	) -> Result<std::collections::HashMap<Hash, Vec<Claimant>>, ServerError> {
		use futures::StreamExt;
		let mut lookups = futures::stream::iter(digests.iter().copied())
			.map(|d| async move { (d, self.claims(&d).await) })
			.buffer_unordered(32);
		let mut found = std::collections::HashMap::new();
		while let Some((d, claims)) = lookups.next().await {
			let claims = claims?;
			if !claims.is_empty() {
				let claimants = claims
					.into_iter()
					.map(|c| Claimant {
						channel_id: c.channel_id,
						seq: c.seq,
						requester: c.requester,
						verifier: c.verifier,
					})
					.collect();
				found.insert(d, claimants);
			}
		}
		Ok(found)
	}

	/// The proof of a digest (of the claim in `channel`, if given).
	/// The proof that stands alone (format 2, the export file) of the first anchored claim of
	/// `digest`, as the server built it; `None` while the server has not built its anchor's
	/// chain evidence yet (or is older than format 2).
	pub async fn proof_v2(
		&self,
		digest: &Hash,
	) -> Result<Option<attest_wire::ProofFile>, ServerError> {
		let url = format!("{}/v1/items/{digest:?}/proof?format=v2", self.url);
		let r = self.http.get(url).send().await.map_err(|e| self.http_err(e))?;
		if r.status().as_u16() == 409 || r.status().as_u16() == 400 {
			return Ok(None);
		}
		let r = self.ok("a proof", r).await?;
		let f: attest_wire::ProofFile =
			r.json().await.map_err(|_| ServerError::Decode("proof file"))?;
		Ok((f.version == 2).then_some(f))
	}

	pub async fn proof(
		&self,
		digest: &Hash,
		channel: Option<&Hash>,
	) -> Result<(Hash, AttestationProof), ServerError> {
		let mut url = format!("{}/v1/items/{digest:?}/proof", self.url);
		if let Some(c) = channel {
			url.push_str(&format!("?channel={c:?}"));
		}
		let r = self.http.get(url).send().await.map_err(|e| self.http_err(e))?;
		let r = self.ok("a proof", r).await?;
		let a: ProofResponse = r.json().await.map_err(|_| ServerError::Decode("proof answer"))?;
		let proof = a.decode().map_err(ServerError::Proof)?;
		Ok((a.genesis, proof))
	}
}
