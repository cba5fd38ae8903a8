//! The verifier service (`attest verifier serve`): takes item data and attestation requests
//! from requesters over HTTP, checks them, bills, countersigns, uploads its first records and
//! reveals bill keys (`docs/protocol.md`, "Agent transport").

use crate::{
	protocol::{self, check_transition, resolved_by, ProtocolError, Transition},
	server_api::{Record, Server},
	store::{BillStage, ChannelRow, Store, StoreError},
	transport::*,
};
use attest_chain::{Chain, Key};
use attest_primitives::{
	channel::{Balance, BlockNumber},
	payment_hash,
	signing::{sign::first_record, Kind},
	AttestationRequest, Bill, BillKey, ChannelState, Confirmation, Finality, Hash, ItemClaim,
	ItemRange, LogHead, MerkleBuilder, Party,
};
use axum::{
	body::Body,
	extract::{Path, State},
	http::StatusCode,
	response::{IntoResponse, Response},
	routing::{get, post},
	Json, Router,
};
use futures::StreamExt;
use sha2::Digest as _;
use std::{collections::HashMap, sync::Arc};
use tokio::sync::Mutex;

/// What the verifier accepts.
#[derive(Debug, Clone)]
pub struct Policy {
	/// Largest item, bytes.
	pub max_item_bytes: u64,
	/// Most items per batch.
	pub max_batch_items: u32,
	/// Content types accepted, by magic bytes (`png`, `jpeg`, `gif`, `pdf`, `mp4`, `webm`,
	/// `zip`, `text`, `any`); empty: any.
	pub types: Vec<String>,
	/// Refuse a digest the attestation server shows under another requester.
	pub refuse_claimed: bool,
	/// A command run per batch with the digests on stdin (one `0x` hex per line) and
	/// `ATTEST_REQUESTER` set; exit status 0 accepts, else its stderr is the refusal.
	pub command: Option<String>,
}

/// Configuration of the service.
pub struct Config {
	/// The verifier's key.
	pub key: Key,
	/// The chain.
	pub chain: Chain,
	/// Durable state.
	pub store: Store,
	/// The attestation server.
	pub server: Server,
	/// Policy.
	pub policy: Policy,
	/// Blocks from billing to expiry.
	pub bill_expiry_blocks: BlockNumber,
}

struct Inner {
	cfg: Config,
	price: Balance,
	/// Per channel: the lock that orders its state changes and the log's Merkle builder.
	channels: Mutex<HashMap<Hash, Arc<Mutex<ChannelCache>>>>,
	/// Addresses whose calls were refused this minute.
	refusals: Refusals,
}

struct ChannelCache {
	log: MerkleBuilder,
}

/// The service's shared state.
#[derive(Clone)]
pub struct Service(Arc<Inner>);

/// An error answer.
#[derive(Debug)]
pub struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
	fn into_response(self) -> Response {
		(self.0, Json(ErrorBody { error: self.1.into(), message: self.2 })).into_response()
	}
}

impl From<StoreError> for ApiError {
	fn from(e: StoreError) -> Self {
		match e {
			StoreError::NonceReuse { .. } => {
				ApiError(StatusCode::CONFLICT, "conflict", e.to_string())
			},
			StoreError::UnknownChannel(_) => {
				ApiError(StatusCode::NOT_FOUND, "not_found", e.to_string())
			},
			StoreError::ClosedByUs { .. } | StoreError::CloseRace { .. } => {
				ApiError(StatusCode::CONFLICT, "closed", e.to_string())
			},
			_ => ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
		}
	}
}

impl From<ProtocolError> for ApiError {
	fn from(e: ProtocolError) -> Self {
		ApiError(StatusCode::UNPROCESSABLE_ENTITY, "refused", e.to_string())
	}
}

/// Runs each request's handler as a task of its own. The HTTP server drops a handler's future
/// when its client hangs up; dropped between two `.await`s, a handler would leave a state
/// stored but not its in-memory log, or a database connection inside a transaction it began
/// (sqlx's SQLite `BEGIN` is not cancel-safe) that then swallows later writes. A task runs to
/// its end whether or not anyone waits for the answer; the requester's retry meets its result.
async fn run_to_completion(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
	match tokio::spawn(next.run(req)).await {
		Ok(r) => r,
		Err(e) => ApiError(
			StatusCode::INTERNAL_SERVER_ERROR,
			"internal",
			format!("the request's handler failed ({e}); it is logged, retry the request"),
		)
		.into_response(),
	}
}

/// How far ahead a signed call may expire.
pub const MAX_CALL_VALIDITY_MS: u64 = 10 * 60 * 1000;
/// Refused calls an address may make per minute before it is refused without a check.
pub const MAX_REFUSED_PER_MINUTE: u32 = 30;

/// The query of a requester's call: `?expires=&signature=`.
#[derive(serde::Deserialize, serde::Serialize, Debug, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallQuery {
	/// Expiry, unix ms; at most ten minutes ahead.
	pub expires: u64,
	/// 0x-hex SCALE MultiSignature by the channel's requester over (kind
	/// attest/verifier-call/v1, genesis, channel, expires).
	pub signature: String,
}

/// Addresses whose calls were refused, and when their minute began.
#[derive(Default)]
pub struct Refusals(std::sync::Mutex<HashMap<std::net::IpAddr, (std::time::Instant, u32)>>);

impl Refusals {
	/// Whether `ip` has used up its refused calls this minute.
	fn exhausted(&self, ip: std::net::IpAddr) -> bool {
		let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
		map.get(&ip).is_some_and(|(since, n)| {
			since.elapsed() < std::time::Duration::from_secs(60) && *n >= MAX_REFUSED_PER_MINUTE
		})
	}

	/// Count a refused call of `ip`.
	fn count(&self, ip: std::net::IpAddr) {
		let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
		if map.len() > 100_000 {
			map.retain(|_, (since, _)| since.elapsed() < std::time::Duration::from_secs(60));
		}
		let e = map.entry(ip).or_insert((std::time::Instant::now(), 0));
		if e.0.elapsed() >= std::time::Duration::from_secs(60) {
			*e = (std::time::Instant::now(), 0);
		}
		e.1 += 1;
	}
}

fn unix_ms() -> u64 {
	std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.as_millis() as u64)
		.unwrap_or(0)
}

/// A channel's requester's calls to its verifier service: `{endpoint}/v1/channels/{id}{tail}`
/// with `?expires=&signature=` (kind `attest/verifier-call/v1`, valid five minutes), signed
/// when the URL is made (a run may outlast one signature).
#[derive(Clone)]
pub struct Calls {
	/// `{endpoint}/v1/channels/{id}`.
	pub url: String,
	key: Key,
	genesis: Hash,
	channel: Hash,
}

impl Calls {
	/// `key`'s calls about `channel` (of the chain `genesis`) to the service at `endpoint`.
	pub fn new(endpoint: &str, key: &Key, genesis: Hash, channel: Hash) -> Self {
		let url = format!("{}/v1/channels/{channel:?}", endpoint.trim_end_matches('/'));
		Calls { url, key: key.clone(), genesis, channel }
	}

	/// `{url}{tail}`, signed now.
	pub fn to(&self, tail: &str) -> String {
		let expires = unix_ms() + 5 * 60 * 1000;
		let sig = self.key.sign(Kind::VerifierCall, &self.genesis, &self.channel, &expires);
		let sig = attest_wire::hex0x(&codec::Encode::encode(&sig));
		format!("{}{tail}?expires={expires}&signature={sig}", self.url)
	}
}

/// Let a call about a channel through only when its requester signed it (before its body is
/// read). An address that keeps sending calls that fail this is, for a minute, answered 429
/// for any channel this verifier does not know yet (learning one asks the chain); calls about
/// known channels are still checked, so a stranger behind the same address cannot lock an
/// honest requester out.
async fn requester_only(
	State(s): State<Service>,
	Path(channel): Path<String>,
	query: Result<axum::extract::Query<CallQuery>, axum::extract::rejection::QueryRejection>,
	req: axum::extract::Request,
	next: axum::middleware::Next,
) -> Response {
	let ip = req
		.extensions()
		.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
		.map(|c| c.0.ip())
		.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
	let limited = s.0.refusals.exhausted(ip);
	match check_call(&s, &channel, query, limited.then_some(ip)).await {
		Ok(()) => next.run(req).await,
		Err(e) => {
			if e.0 != StatusCode::TOO_MANY_REQUESTS {
				s.0.refusals.count(ip);
			}
			e.into_response()
		},
	}
}

/// The call's signature: by the channel's requester, not expired, not too far ahead. With
/// `limited`, a channel not known here yet is refused (429) instead of looked up.
async fn check_call(
	s: &Service,
	channel: &str,
	query: Result<axum::extract::Query<CallQuery>, axum::extract::rejection::QueryRejection>,
	limited: Option<std::net::IpAddr>,
) -> Res<()> {
	let unauthorized = |m: String| ApiError(StatusCode::UNAUTHORIZED, "unauthorized", m);
	let q = query.map(|q| q.0).map_err(|_| {
		unauthorized(
			"a call about a channel must be signed by its requester: query parameters expires \
			 (unix ms) and signature (kind attest/verifier-call/v1; docs/protocol.md)"
				.into(),
		)
	})?;
	let now = unix_ms();
	if q.expires < now {
		return Err(unauthorized(format!(
			"the call's signature expired at {} (now {now}); sign a new one",
			q.expires
		)));
	}
	if q.expires > now.saturating_add(MAX_CALL_VALIDITY_MS) {
		return Err(bad(format!(
			"expires is more than {} s ahead; sign calls valid for at most that long",
			MAX_CALL_VALIDITY_MS / 1000
		)));
	}
	let id = parse_hash(channel)?;
	let sig_bytes = attest_wire::hex_decode(&q.signature)
		.ok_or_else(|| bad("signature must be 0x hex of a SCALE MultiSignature"))?;
	let signature = <sp_runtime::MultiSignature as codec::Decode>::decode(&mut &sig_bytes[..])
		.map_err(|_| bad("signature must be 0x hex of a SCALE MultiSignature"))?;
	let requester = match limited {
		None => s.channel(&id).await?.0.requester,
		Some(ip) => match s.cfg().store.channel(&id).await {
			Ok(row) => row.requester,
			Err(StoreError::UnknownChannel(_)) => {
				return Err(ApiError(
					StatusCode::TOO_MANY_REQUESTS,
					"too_many_refused",
					format!(
						"more than {MAX_REFUSED_PER_MINUTE} refused calls from {ip} this \
						 minute: calls about channels this verifier does not know yet wait a \
						 minute; sign calls as docs/protocol.md says"
					),
				))
			},
			Err(e) => return Err(e.into()),
		},
	};
	attest_primitives::signing::verify(
		Kind::VerifierCall,
		&s.cfg().chain.genesis(),
		&id,
		&q.expires,
		&signature,
		&sp_runtime::AccountId32::from(requester),
	)
	.map_err(|e| unauthorized(format!("the call is not signed by the channel's requester ({e})")))
}

/// A state not newer than the newest both signed (and not a retry of it).
fn stale(nonce: u64, newest: u64) -> ApiError {
	ApiError(
		StatusCode::CONFLICT,
		"stale",
		format!(
			"state {nonce} is not newer than the newest both signed ({newest}): a replayed or stale state"
		),
	)
}

fn bad(msg: impl Into<String>) -> ApiError {
	ApiError(StatusCode::BAD_REQUEST, "bad_request", msg.into())
}

fn refused(msg: impl Into<String>) -> ApiError {
	ApiError(StatusCode::UNPROCESSABLE_ENTITY, "refused", msg.into())
}

fn parse_hash(s: &str) -> Result<Hash, ApiError> {
	attest_primitives::parse_hash(s)
		.ok_or_else(|| bad(format!("{s} is not a 32-byte hash (64 hex digits, 0x optional)")))
}

type Res<T> = Result<T, ApiError>;

impl Service {
	/// Start: reads the verifier's registered price (it must be registered).
	pub async fn new(cfg: Config) -> anyhow::Result<Self> {
		let info = cfg.chain.verifier(cfg.key.public()).await?.ok_or_else(|| {
			anyhow::anyhow!(
				"{} is not a registered verifier: run `attest verifier register` first",
				cfg.key.address()
			)
		})?;
		Ok(Service(Arc::new(Inner {
			cfg,
			price: info.price,
			channels: Default::default(),
			refusals: Default::default(),
		})))
	}

	/// The HTTP routes. The `POST`s about a channel are its requester's calls: signed
	/// (`?expires=&signature=`, kind `attest/verifier-call/v1`), checked before the body is
	/// read; an address whose calls keep failing that check is refused at once for a minute.
	pub fn router(&self) -> Router {
		let calls = Router::new()
			.route("/v1/channels/{channel}/items", post(items))
			.route("/v1/channels/{channel}/bills", post(bills))
			.route("/v1/channels/{channel}/requests", post(requests))
			.route("/v1/channels/{channel}/states", post(states))
			.route_layer(axum::middleware::from_fn_with_state(self.clone(), requester_only));
		Router::new()
			.route("/v1/info", get(info))
			.route("/v1/openapi.json", get(openapi))
			.route("/v1/channels/{channel}", get(channel_state))
			.merge(calls)
			.layer(axum::extract::DefaultBodyLimit::max(64 << 20))
			.layer(axum::middleware::from_fn(run_to_completion))
			.with_state(self.clone())
	}

	fn cfg(&self) -> &Config {
		&self.0.cfg
	}

	/// The channel's lock and log, loading the channel from the chain the first time.
	async fn channel(&self, id: &Hash) -> Res<(ChannelRow, Arc<Mutex<ChannelCache>>)> {
		let cache = {
			let mut map = self.0.channels.lock().await;
			if let Some(c) = map.get(id) {
				c.clone()
			} else {
				let row = match self.cfg().store.channel(id).await {
					Ok(r) => r,
					Err(StoreError::UnknownChannel(_)) => self.discover(id).await?,
					Err(e) => return Err(e.into()),
				};
				let mut log = MerkleBuilder::new();
				for d in self.cfg().store.log(id).await? {
					log.push_digest(&d);
				}
				if log.size() != row.state.log.size {
					return Err(ApiError(
						StatusCode::INTERNAL_SERVER_ERROR,
						"internal",
						format!(
							"the stored log of {id:?} has {} items, its state {}",
							log.size(),
							row.state.log.size
						),
					));
				}
				let c = Arc::new(Mutex::new(ChannelCache { log }));
				map.insert(*id, c.clone());
				c
			}
		};
		let row = self.cfg().store.channel(id).await?;
		if row.role != Party::Verifier || row.verifier != self.cfg().key.public() {
			return Err(ApiError(
				StatusCode::FORBIDDEN,
				"forbidden",
				format!("{id:?} is not a channel of this verifier"),
			));
		}
		Ok((row, cache))
	}

	/// The checks every incoming state passes first: it is for the channel of the path, the
	/// channel is this verifier's, and the requester signed it. Returns the channel's id, its
	/// lock (held: state changes of a channel are ordered) and its row read under the lock.
	async fn incoming(
		&self,
		channel: &str,
		state: &ChannelState,
		signature: &sp_runtime::MultiSignature,
	) -> Res<(Hash, tokio::sync::OwnedMutexGuard<ChannelCache>, ChannelRow)> {
		let id = parse_hash(channel)?;
		if state.channel_id != id {
			return Err(refused(format!(
				"the state is for channel {:?}, not {id:?}",
				state.channel_id
			)));
		}
		let (_, cache) = self.channel(&id).await?;
		let guard = cache.lock_owned().await;
		let row = self.cfg().store.channel(&id).await?;
		protocol::check_state_signature(
			&self.cfg().chain.genesis(),
			state,
			signature,
			&row.requester.into(),
			"requester",
		)?;
		Ok((id, guard, row))
	}

	/// A final state must fit the chain: one that names a close names the pending one (else
	/// it could never close the channel, and the verifier, having signed a final state, would
	/// sign nothing more), and while the verifier's own close is pending only a final state
	/// naming it is signed (a plain one would prove that close stale).
	///
	/// During the requester's close it first puts its own newest state on chain if the chain
	/// holds an older one, so that a stale close stays proven whatever becomes of the final
	/// state (a final state naming the close is no evidence).
	async fn check_final_against_chain(
		&self,
		id: &Hash,
		row: &ChannelRow,
		state: &ChannelState,
	) -> Res<()> {
		let c = self.on_chain(id).await?;
		let pending = match &c.status {
			attest_chain::ChannelStatus::Closing { closer, closed_nonce, .. } => {
				Some((closer.0, *closed_nonce))
			},
			attest_chain::ChannelStatus::Open => None,
		};
		crate::ops::challenge_counterpartys_close(
			&self.cfg().chain,
			&self.cfg().key,
			&self.cfg().store,
			row,
			&c,
		)
		.await
		.map_err(|e| ApiError(StatusCode::BAD_GATEWAY, "chain", format!("{e:#}")))?;
		let refuse = |m: String| Err(refused(m));
		match (state.finality, pending) {
			(Finality::EndsClose { closer, closed_nonce }, Some(p))
				if (closer, closed_nonce) == p =>
			{
				Ok(())
			},
			(Finality::EndsClose { closer, closed_nonce }, p) => refuse(format!(
				"the final state names a close by the {} with state {closed_nonce}, but the chain \
				 shows {}",
				closer.word(),
				match p {
					Some((c, n)) => format!("a close by the {} with state {n}", c.word()),
					None => "no pending close".into(),
				}
			)),
			(_, Some((Party::Verifier, n))) => refuse(format!(
				"the verifier closed this channel with state {n}: a final state must name that close \
				 (finality {{\"endsClose\": {{\"closer\": \"verifier\", \"closedNonce\": {n}}}}})"
			)),
			_ => Ok(()),
		}
	}

	/// The channel as the chain holds it (502 when the node fails, 404 when it has none).
	async fn on_chain(&self, id: &Hash) -> Res<attest_chain::Channel> {
		self.cfg()
			.chain
			.channel(id)
			.await
			.map_err(|e| ApiError(StatusCode::BAD_GATEWAY, "chain", e.to_string()))?
			.ok_or_else(|| {
				ApiError(
					StatusCode::NOT_FOUND,
					"not_found",
					format!("no open channel {id:?} on chain"),
				)
			})
	}

	/// A channel this verifier has not seen: read it from the chain.
	async fn discover(&self, id: &Hash) -> Res<ChannelRow> {
		let c = self.on_chain(id).await?;
		if c.verifier.0 != self.cfg().key.public() {
			return Err(ApiError(
				StatusCode::FORBIDDEN,
				"forbidden",
				format!("channel {id:?} is not with this verifier"),
			));
		}
		let row = ChannelRow::learned(
			*id,
			Party::Verifier,
			c.requester.0,
			c.verifier.0,
			String::new(),
			c.state.0,
			c.anchored.0.size,
		);
		self.cfg().store.add_channel(&row).await?;
		Ok(row)
	}

	/// Upload first records of `digests` at `first_seq` under `payment_hash`.
	async fn upload_first_records(
		&self,
		channel: &Hash,
		first_seq: u64,
		digests: &[Hash],
		ph: Hash,
	) -> Res<()> {
		let genesis = self.cfg().chain.genesis();
		let records: Vec<Record> = digests
			.iter()
			.enumerate()
			.map(|(i, d)| {
				let claim = ItemClaim { seq: first_seq + i as u64, digest: *d, payment_hash: ph };
				Record::First(first_record(self.cfg().key.pair(), &genesis, *channel, claim))
			})
			.collect();
		self.cfg()
			.server
			.submit(records)
			.await
			.map_err(|e| ApiError(StatusCode::BAD_GATEWAY, "server", format!("{e}: try again")))
	}
}

/// Magic-byte content type of the first bytes of an item.
pub fn content_type(head: &[u8]) -> &'static str {
	match head {
		[0x89, b'P', b'N', b'G', ..] => "png",
		[0xFF, 0xD8, 0xFF, ..] => "jpeg",
		[b'G', b'I', b'F', b'8', ..] => "gif",
		[b'%', b'P', b'D', b'F', ..] => "pdf",
		[_, _, _, _, b'f', b't', b'y', b'p', ..] => "mp4",
		[0x1A, 0x45, 0xDF, 0xA3, ..] => "webm",
		[b'P', b'K', 3, 4, ..] => "zip",
		h if h.iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace() || *b >= 0x80) => {
			"text"
		},
		_ => "binary",
	}
}

async fn info(State(s): State<Service>) -> Json<VerifierInfo> {
	let c = s.cfg();
	Json(VerifierInfo {
		verifier: c.key.address(),
		public_key: attest_wire::hex0x(&c.key.public()),
		genesis: c.chain.genesis(),
		price: s.0.price.to_string(),
		max_item_bytes: c.policy.max_item_bytes,
		max_batch_items: c.policy.max_batch_items,
		bill_expiry_blocks: c.bill_expiry_blocks,
	})
}

async fn openapi() -> Response {
	([(axum::http::header::CONTENT_TYPE, "application/json")], openapi_document()).into_response()
}

/// The newest state both signed.
#[utoipa::path(get, path = "/v1/channels/{channel}", tag = "verifier",
	params(("channel" = String, Path, description = "Channel id, 0x hex")),
	responses((status = 200, body = SignedState), (status = 404, body = ErrorBody)))]
pub(crate) async fn channel_state(
	State(s): State<Service>,
	Path(channel): Path<String>,
) -> Res<Json<SignedState>> {
	let id = parse_hash(&channel)?;
	let (row, _) = s.channel(&id).await?;
	Ok(Json(SignedState {
		state: row.state,
		requester_signature: row.requester_signature,
		verifier_signature: row.verifier_signature,
	}))
}

/// Item data: a stream of frames (u64 little-endian length, then the bytes). Each item is
/// hashed and checked against the policy; the answer lists the digests in order.
#[utoipa::path(post, path = "/v1/channels/{channel}/items", tag = "verifier",
	params(("channel" = String, Path, description = "Channel id, 0x hex"), CallQuery),
	request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "frames: u64 LE length, bytes"),
	responses((status = 401, description = "Not signed by the channel's requester", body = ErrorBody), (status = 429, body = ErrorBody), (status = 200, body = ItemsAccepted), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn items(
	State(s): State<Service>,
	Path(channel): Path<String>,
	body: Body,
) -> Res<Json<ItemsAccepted>> {
	let id = parse_hash(&channel)?;
	let (row, _) = s.channel(&id).await?;
	let policy = &s.cfg().policy;
	let mut stream = body.into_data_stream();
	let mut buf: Vec<u8> = Vec::new();
	let mut out: Vec<(Hash, u64)> = Vec::new();
	// The item being read: remaining bytes, hasher, first bytes, size.
	let mut cur: Option<(u64, sha2::Sha256, Vec<u8>, u64)> = None;
	loop {
		// Consume what is buffered.
		loop {
			match &mut cur {
				None => {
					if buf.len() < FRAME_HEADER {
						break;
					}
					let len =
						u64::from_le_bytes(buf[..FRAME_HEADER].try_into().unwrap_or_default());
					buf.drain(..FRAME_HEADER);
					if len > policy.max_item_bytes {
						return Err(refused(format!(
							"item {} is {len} bytes, above this verifier's limit of {} (policy)",
							out.len(),
							policy.max_item_bytes
						)));
					}
					if out.len() as u32 >= policy.max_batch_items {
						return Err(refused(format!(
							"more than {} items in one request",
							policy.max_batch_items
						)));
					}
					cur = Some((len, sha2::Sha256::new(), Vec::new(), len));
				},
				Some((left, h, head, size)) => {
					let take = (*left).min(buf.len() as u64) as usize;
					if take == 0 && *left > 0 {
						break;
					}
					h.update(&buf[..take]);
					if head.len() < 16 {
						let n = (16 - head.len()).min(take);
						head.extend_from_slice(&buf[..n]);
					}
					buf.drain(..take);
					*left -= take as u64;
					if *left == 0 {
						let ty = content_type(head);
						if !policy.types.is_empty()
							&& !policy.types.iter().any(|t| t == ty || t == "any")
						{
							return Err(refused(format!(
								"item {} is {ty} (by its first bytes); this verifier takes {} (policy)",
								out.len(),
								policy.types.join(", ")
							)));
						}
						let digest = Hash(std::mem::take(h).finalize().into());
						out.push((digest, *size));
						cur = None;
					}
				},
			}
		}
		match stream.next().await {
			Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
			Some(Err(e)) => return Err(bad(format!("reading the items: {e}"))),
			None => break,
		}
	}
	if cur.is_some() || !buf.is_empty() {
		return Err(bad("the items stream ended inside a frame"));
	}
	let digests: Vec<Hash> = out.iter().map(|(d, _)| *d).collect();
	check_claims(&s, &row, &digests).await?;
	run_policy_command(policy, &row, &digests).await?;
	s.cfg().store.put_received(&id, &out).await?;
	Ok(Json(ItemsAccepted { digests }))
}

/// Refuse digests the attestation server shows under another requester.
async fn check_claims(s: &Service, row: &ChannelRow, digests: &[Hash]) -> Res<()> {
	if !s.cfg().policy.refuse_claimed {
		return Ok(());
	}
	let me = attest_wire::hex0x(&row.requester);
	let found = s
		.cfg()
		.server
		.claims_of(digests)
		.await
		.map_err(|e| ApiError(StatusCode::BAD_GATEWAY, "server", e.to_string()))?;
	for (i, d) in digests.iter().enumerate() {
		let Some(claims) = found.get(d) else { continue };
		if let Some(c) = claims.iter().find(|c| c.requester.as_deref().is_some_and(|r| r != me)) {
			return Err(refused(format!(
				"item {i} ({d:?}) was attested by another requester ({}, channel {:?} seq {}) (policy)",
				c.requester.as_deref().unwrap_or("?"),
				c.channel_id,
				c.seq
			)));
		}
	}
	Ok(())
}

async fn run_policy_command(policy: &Policy, row: &ChannelRow, digests: &[Hash]) -> Res<()> {
	let Some(cmd) = &policy.command else { return Ok(()) };
	use tokio::io::AsyncWriteExt;
	let mut child = tokio::process::Command::new("sh")
		.args(["-c", cmd])
		.env("ATTEST_REQUESTER", attest_wire::hex0x(&row.requester))
		.stdin(std::process::Stdio::piped())
		.stdout(std::process::Stdio::null())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.map_err(|e| {
			ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("policy command: {e}"))
		})?;
	if let Some(mut stdin) = child.stdin.take() {
		let text: String = digests.iter().map(|d| format!("{d:?}\n")).collect();
		let _ = stdin.write_all(text.as_bytes()).await;
	}
	let out = child.wait_with_output().await.map_err(|e| {
		ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("policy command: {e}"))
	})?;
	if out.status.success() {
		Ok(())
	} else {
		Err(refused(format!(
			"policy command refused: {}",
			String::from_utf8_lossy(&out.stderr).trim()
		)))
	}
}

/// Bill received items at the end of the channel's log (one bill per batch).
#[utoipa::path(post, path = "/v1/channels/{channel}/bills", tag = "verifier",
	params(("channel" = String, Path, description = "Channel id, 0x hex"), CallQuery),
	request_body = BillRequest,
	responses((status = 401, description = "Not signed by the channel's requester", body = ErrorBody), (status = 429, body = ErrorBody), (status = 200, body = SignedBill), (status = 422, body = ErrorBody)))]
pub(crate) async fn bills(
	State(s): State<Service>,
	Path(channel): Path<String>,
	Json(req): Json<BillRequest>,
) -> Res<Json<SignedBill>> {
	let id = parse_hash(&channel)?;
	let (_, cache) = s.channel(&id).await?;
	let _guard = cache.lock().await;
	let row = s.cfg().store.channel(&id).await?;
	if req.digests.is_empty() || req.digests.len() as u32 > s.cfg().policy.max_batch_items {
		return Err(bad(format!("a bill covers 1 to {} items", s.cfg().policy.max_batch_items)));
	}
	let missing = s.cfg().store.missing_received(&id, &req.digests).await?;
	if let Some(d) = missing.first() {
		return Err(refused(format!(
			"{} of the digests were not sent to this verifier in this channel (first: {d:?}): send the items first",
			missing.len()
		)));
	}
	let items = ItemRange::of_digests(row.state.log.size, &req.digests);
	// The same request again (a retry) gets the same open bill.
	for b in s.cfg().store.bills(&id, BillStage::Open).await? {
		if b.bill.items == items {
			if let Some(sig) = b.signature {
				return Ok(Json(SignedBill { bill: b.bill, signature: sig }));
			}
		}
	}
	let now = s
		.cfg()
		.chain
		.best_number()
		.await
		.map_err(|e| ApiError(StatusCode::BAD_GATEWAY, "chain", e.to_string()))?;
	let mut key = [0u8; 32];
	getrandom::fill(&mut key)
		.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
	let key = BillKey(key);
	let amount =
		s.0.price
			.checked_mul(req.digests.len() as Balance)
			.ok_or_else(|| bad("amount overflows"))?;
	let bill = Bill {
		items,
		amount,
		payment_hash: payment_hash(&key),
		expiry: now.saturating_add(s.cfg().bill_expiry_blocks),
	};
	let signature = s.cfg().key.sign(Kind::Bill, &s.cfg().chain.genesis(), &id, &bill);
	s.cfg()
		.store
		.put_bill(&id, &bill, Some(&signature), Some(&key), &req.digests, BillStage::Open)
		.await?;
	Ok(Json(SignedBill { bill, signature }))
}

/// An attestation request: the requester's state with the billed items. Answered with the
/// countersignature and the bill key once the first records are on the attestation server.
#[utoipa::path(post, path = "/v1/channels/{channel}/requests", tag = "verifier",
	params(("channel" = String, Path, description = "Channel id, 0x hex"), CallQuery),
	request_body(content = Object, description = "AttestationRequest (docs/protocol.md)"),
	responses((status = 401, description = "Not signed by the channel's requester", body = ErrorBody), (status = 429, body = ErrorBody), (status = 200, body = Object, description = "Confirmation"), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn requests(
	State(s): State<Service>,
	Path(channel): Path<String>,
	Json(req): Json<AttestationRequest>,
) -> Res<Json<Confirmation>> {
	let (id, mut cache, row) = s.incoming(&channel, &req.state, &req.requester_signature).await?;
	let genesis = s.cfg().chain.genesis();
	if row.state.nonce >= req.state.nonce {
		// A retry of the request this verifier already countersigned answers the same (the
		// requester crashed before it stored the confirmation, or this verifier crashed before
		// it answered: its first records are uploaded again, the server keeps them once).
		let bill = match req.state.htlcs.last() {
			Some(h) if row.state == req.state => s.cfg().store.bill(&id, &h.payment_hash).await?,
			_ => None,
		};
		if let (Some(bill), Some(sig)) = (bill, row.verifier_signature.clone()) {
			let key = bill.key.ok_or_else(|| refused("bill without key"))?;
			s.upload_first_records(
				&id,
				bill.bill.items.first_seq,
				&bill.digests,
				bill.bill.payment_hash,
			)
			.await?;
			return Ok(Json(Confirmation {
				nonce: row.state.nonce,
				bill_key: key,
				verifier_signature: sig,
			}));
		}
		return Err(stale(req.state.nonce, row.state.nonce));
	}
	// The new HTLC is the one the newest state does not hold.
	let new = protocol::added_by(&row.state, &req.state);
	let [htlc] = new.as_slice() else {
		return Err(refused(format!(
			"an attestation request adds exactly one HTLC, this one adds {}",
			new.len()
		)));
	};
	let Some(bill) = s.cfg().store.bill(&id, &htlc.payment_hash).await? else {
		return Err(refused(format!(
			"no bill with payment hash {:?}: a replayed or invented bill",
			htlc.payment_hash
		)));
	};
	let key = bill.key.ok_or_else(|| refused("bill without key"))?;
	if bill.status != BillStage::Open {
		return Err(refused(format!(
			"the bill {:?} was already used ({})",
			htlc.payment_hash,
			bill.status.as_str()
		)));
	}
	if req.digests != bill.digests {
		return Err(refused("the request's digests are not the billed ones"));
	}
	let mut log = cache.log.clone();
	for d in &req.digests {
		log.push_digest(d);
	}
	let new_log = LogHead { size: log.size(), root: log.root() };
	let resolve = resolved_by(&row.state, &req.state);
	check_transition(
		&row.state,
		&req.state,
		&Transition {
			resolve: &resolve,
			bill: Some((&bill.bill, new_log)),
			finality: attest_primitives::Finality::Open,
		},
	)?;
	let sig = s.cfg().store.sign_state(&s.cfg().key, &genesis, &req.state).await?;
	s.cfg()
		.store
		.set_latest(&req.state, &req.requester_signature, &sig, &req.digests, None)
		.await?;
	cache.log = log;
	s.upload_first_records(&id, bill.bill.items.first_seq, &bill.digests, htlc.payment_hash)
		.await?;
	Ok(Json(Confirmation { nonce: req.state.nonce, bill_key: key, verifier_signature: sig }))
}

/// A state without new items: it resolves HTLCs whose keys were revealed, or is final.
#[utoipa::path(post, path = "/v1/channels/{channel}/states", tag = "verifier",
	params(("channel" = String, Path, description = "Channel id, 0x hex"), CallQuery),
	request_body = StateUpdate,
	responses((status = 401, description = "Not signed by the channel's requester", body = ErrorBody), (status = 429, body = ErrorBody), (status = 200, body = Countersignature), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn states(
	State(s): State<Service>,
	Path(channel): Path<String>,
	Json(req): Json<StateUpdate>,
) -> Res<Json<Countersignature>> {
	let (id, _guard, row) = s.incoming(&channel, &req.state, &req.requester_signature).await?;
	let genesis = s.cfg().chain.genesis();
	if row.state.nonce >= req.state.nonce {
		if row.state == req.state {
			let sig = row.verifier_signature.clone().ok_or_else(|| refused("no signature kept"))?;
			return Ok(Json(Countersignature { nonce: row.state.nonce, verifier_signature: sig }));
		}
		return Err(stale(req.state.nonce, row.state.nonce));
	}
	let resolve = resolved_by(&row.state, &req.state);
	check_transition(
		&row.state,
		&req.state,
		&Transition { resolve: &resolve, bill: None, finality: req.state.finality },
	)?;
	if req.state.is_final() {
		s.check_final_against_chain(&id, &row, &req.state).await?;
	}
	let sig = s.cfg().store.sign_state(&s.cfg().key, &genesis, &req.state).await?;
	s.cfg()
		.store
		.set_latest(&req.state, &req.requester_signature, &sig, &[], None)
		.await?;
	Ok(Json(Countersignature { nonce: req.state.nonce, verifier_signature: sig }))
}

/// Serve on `listener` until `shutdown` resolves.
pub async fn serve(
	service: Service,
	listener: tokio::net::TcpListener,
	tls: Option<std::sync::Arc<rustls::ServerConfig>>,
	shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
	use axum::serve::ListenerExt as _;
	let app = service.router().into_make_service_with_connect_info::<std::net::SocketAddr>();
	match tls {
		Some(tls) => {
			let listener = attest_tls::TlsListener::new(listener, tls, TLS_HANDSHAKE)?;
			// (tap_io: the TLS listener's peer address as ConnectInfo.)
			axum::serve(listener.tap_io(|_| {}), app)
				.with_graceful_shutdown(shutdown)
				.await?
		},
		None => axum::serve(listener, app).with_graceful_shutdown(shutdown).await?,
	}
	Ok(())
}

/// Longest a TLS handshake may take (a connection that does not finish it is dropped).
pub const TLS_HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(10);

/// The verifier service's OpenAPI document, generated from its handlers.
#[derive(utoipa::OpenApi)]
#[openapi(
	info(
		title = "Attest verifier",
		description = "The verifier agent's API (docs/protocol.md, \"Agent transport\")."
	),
	paths(channel_state, items, bills, requests, states),
	components(schemas(
		crate::transport::VerifierInfo,
		crate::transport::ItemsAccepted,
		crate::transport::BillRequest,
		crate::transport::SignedBill,
		crate::transport::StateUpdate,
		crate::transport::Countersignature,
		crate::transport::SignedState,
		crate::transport::ErrorBody
	))
)]
struct OpenApiDoc;

/// The document as JSON.
pub fn openapi_document() -> String {
	<OpenApiDoc as utoipa::OpenApi>::openapi().to_pretty_json().unwrap_or_default()
}
