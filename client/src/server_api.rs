//! The attestation server as the agents use it: signed records (in batches), item data
//! (inline in the record, or streamed with it), and proofs.

use attest_primitives::{AttestationProof, FirstRecord, Hash, SecondRecord};
use codec::{DecodeAll as _, Encode};
use serde::{Deserialize, Serialize};

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
		outcome: String,
		/// Message.
		message: String,
	},
	/// The answer did not decode.
	#[error("attestation server sent an unreadable {0}")]
	Decode(&'static str),
	/// A file could not be read.
	#[error("{path}: {source}")]
	File {
		/// Path.
		path: String,
		/// Why.
		source: std::io::Error,
	},
}

/// A record as the batch endpoint takes it.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub enum Record {
	/// Verifier's.
	First(FirstRecord),
	/// Requester's.
	Second(SecondRecord),
}

#[derive(Serialize)]
struct Batch<'a> {
	records: &'a [Record],
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubmitResult {
	outcome: String,
	#[serde(default)]
	message: Option<String>,
}

#[derive(Deserialize)]
struct BatchResult {
	results: Vec<SubmitResult>,
}

/// One claim of a digest (`GET /v1/items/{digest}`).
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
	/// Channel.
	pub channel_id: Hash,
	/// Seq.
	pub seq: u64,
	/// Requester account, `0x` hex.
	pub requester: Option<String>,
	/// Verifier account, `0x` hex.
	pub verifier: Option<String>,
	/// `pending`, `anchored` or `wrong`.
	pub status: Option<String>,
	/// The anchor, once anchored.
	pub anchor: Option<attest_primitives::Anchor>,
}

#[derive(Deserialize, Debug)]
struct ItemStatus {
	claims: Vec<Claim>,
}

/// The proof endpoint's JSON answer.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ProofAnswer {
	/// Genesis hash.
	pub genesis: Hash,
	/// SCALE of the proof, hex.
	pub scale: String,
}

/// A client of one attestation server.
#[derive(Clone)]
pub struct Server {
	url: String,
	http: reqwest::Client,
}

impl Server {
	/// A client of the server at `url` (`http://host:port`).
	pub fn new(url: &str) -> Self {
		let http = reqwest::Client::builder()
			.pool_max_idle_per_host(16)
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

	/// Store records in one batch; every one must be stored (or already be).
	pub async fn submit(&self, records: &[Record]) -> Result<(), ServerError> {
		for chunk in records.chunks(5_000) {
			let r = self
				.http
				.post(format!("{}/v1/records/batch", self.url))
				.json(&Batch { records: chunk })
				.send()
				.await
				.map_err(|e| self.http_err(e))?;
			let r = self.ok("a batch of records", r).await?;
			let answer: BatchResult =
				r.json().await.map_err(|_| ServerError::Decode("batch answer"))?;
			for (rec, res) in chunk.iter().zip(answer.results) {
				if res.outcome != "stored" && res.outcome != "already_stored" {
					let seq = match rec {
						Record::First(r) => r.claim.seq,
						Record::Second(r) => r.claim.seq,
					};
					return Err(ServerError::Refused {
						seq,
						outcome: res.outcome,
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
			.header("attest-record", hex::encode(record.encode()))
			.header("content-type", "application/octet-stream")
			.body(body)
			.send()
			.await
			.map_err(|e| self.http_err(e))?;
		self.ok(&format!("the streamed record of item {}", record.claim.seq), r).await?;
		Ok(())
	}

	/// The claims of a digest (empty when none).
	pub async fn claims(&self, digest: &Hash) -> Result<Vec<Claim>, ServerError> {
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
	) -> Result<std::collections::HashMap<Hash, Vec<Claim>>, ServerError> {
		#[derive(Deserialize)]
		struct Answer {
			items: Vec<Item>,
		}
		#[derive(Deserialize)]
		struct Item {
			digest: Hash,
			claimants: Vec<Claim>,
		}
		let mut found = std::collections::HashMap::new();
		for chunk in digests.chunks(10_000) {
			let r = self
				.http
				.post(format!("{}/v1/items/claimants", self.url))
				.json(&serde_json::json!({ "digests": chunk }))
				.send()
				.await
				.map_err(|e| self.http_err(e))?;
			if matches!(r.status().as_u16(), 404 | 405) {
				return self.claims_one_by_one(digests).await;
			}
			let r = self.ok("a lookup of claimants", r).await?;
			let answer: Answer =
				r.json().await.map_err(|_| ServerError::Decode("claimants answer"))?;
			found.extend(answer.items.into_iter().map(|i| (i.digest, i.claimants)));
		}
		Ok(found)
	}

	async fn claims_one_by_one(
		&self,
		digests: &[Hash],
	) -> Result<std::collections::HashMap<Hash, Vec<Claim>>, ServerError> {
		use futures::StreamExt;
		let mut lookups = futures::stream::iter(digests.iter().copied())
			.map(|d| async move { (d, self.claims(&d).await) })
			.buffer_unordered(32);
		let mut found = std::collections::HashMap::new();
		while let Some((d, claims)) = lookups.next().await {
			let claims = claims?;
			if !claims.is_empty() {
				found.insert(d, claims);
			}
		}
		Ok(found)
	}

	/// The proof of a digest (of the claim in `channel`, if given).
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
		let a: ProofAnswer = r.json().await.map_err(|_| ServerError::Decode("proof answer"))?;
		let bytes = hex::decode(a.scale.trim_start_matches("0x"))
			.map_err(|_| ServerError::Decode("proof hex"))?;
		let proof = AttestationProof::decode_all(&mut &bytes[..])
			.map_err(|_| ServerError::Decode("proof SCALE (one bundle, nothing after it)"))?;
		Ok((a.genesis, proof))
	}
}
