//! # attest-server
//!
//! The attestation server of Attest chain: it stores the verifier's and the requester's
//! signed records of each attested item and the item's data, learns which ranges of items
//! are anchored on chain (relayed by nodes' off-chain workers or found by polling chain
//! storage, and in both cases checked against finalized storage), and proves any item:
//! `file -> SHA-256 digest -> records of both parties -> Merkle inclusion proof -> root
//! anchored in block B`.
//!
//! The HTTP API is versioned under `/v1` and described by the OpenAPI document at
//! `/v1/openapi.json`; `docs/server.md` is the operator's guide.

#![warn(missing_docs)]

pub mod anchors;
pub mod api;
pub mod blobs;
pub mod chain;
pub mod config;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod store;

pub use config::Config;

use anyhow::Context as _;
use attest_primitives::{channel::ChannelId, merkle::MerkleTree, Hash};
use std::{
	collections::HashMap,
	num::NonZeroUsize,
	sync::{Arc, Mutex, RwLock},
	time::Duration,
};

/// Everything a request handler needs.
pub struct AppState {
	/// Records, anchors, blob index.
	pub store: store::Store,
	/// Blob bytes.
	pub blobs: blobs::BlobStore,
	/// The chain.
	pub chain: chain::Chain,
	/// Settings.
	pub config: Config,
	/// Metrics.
	pub metrics: metrics::Metrics,
	channels: RwLock<HashMap<ChannelId, store::Parties>>,
	/// Channels the chain did not know, and when it said so (asked again after
	/// [`UNKNOWN_CHANNEL_TTL`]).
	unknown_channels: Mutex<lru::LruCache<ChannelId, std::time::Instant>>,
	trees: Mutex<lru::LruCache<(ChannelId, u32), Arc<MerkleTree>>>,
	/// Records arrived: incomplete anchors may complete now.
	pub records_arrived: tokio::sync::Notify,
	/// Uploads in progress: at most `max_uploads` in all, `max_uploads_per_party` per party.
	pub uploads: ingest::Uploads,
	/// The chain's genesis hash and GRANDPA authorities at genesis, read from the node at
	/// start (no authorities if it did not say them): what a format-2 proof is checked against.
	pub trust: attest_finality::TrustRoot,
}

/// How long the answer "this channel is not on chain" is remembered: about a block.
pub const UNKNOWN_CHANNEL_TTL: Duration = Duration::from_secs(6);

/// Run CPU work (signature checks, tree builds) on the rayon pool, never on the blocking
/// threads that uploads use, so slow uploads cannot hold it up.
pub async fn cpu<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
	let (tx, rx) = tokio::sync::oneshot::channel();
	rayon::spawn(move || {
		let _ = tx.send(f());
	});
	match rx.await {
		Ok(v) => v,
		// The closure panicked on the rayon pool: surface it here.
		Err(_) => panic!("CPU task panicked"),
	}
}

impl AppState {
	/// Open the store and blob directory and connect to the chain.
	pub async fn open(config: Config) -> anyhow::Result<Arc<Self>> {
		std::fs::create_dir_all(&config.data_dir)
			.with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
		let url = config.database_url();
		let store =
			store::Store::open_with_cache(&url, config.db_max_connections, config.db_cache_mib)
				.await
				.with_context(|| format!("cannot open database {url}"))?;
		let remote = match &config.blob_store {
			None => None,
			Some(url) => Some(
				blobs::Remote::s3(url, config.s3_endpoint.as_deref())
					.map_err(anyhow::Error::msg)?,
			),
		};
		let blobs =
			blobs::BlobStore::open(config.data_dir.join("blobs"), remote, !config.buffered_uploads)
				.with_context(|| {
					format!("cannot open blob store under {}", config.data_dir.display())
				})?;
		let chain = connect_chain(&config.chain_rpc).await?;
		let uploads = ingest::Uploads::new(config.max_uploads, config.max_uploads_per_party);
		let trust = chain.trust_root().await.unwrap_or_else(|e| {
			tracing::warn!("the node did not give the genesis authorities: {e}");
			attest_finality::TrustRoot { genesis: chain.genesis(), authorities: Vec::new() }
		});
		Ok(Arc::new(AppState {
			trust,
			store,
			blobs,
			chain,
			config,
			metrics: metrics::Metrics::new(),
			channels: RwLock::new(HashMap::new()),
			unknown_channels: Mutex::new(lru::LruCache::new(
				NonZeroUsize::new(10_000).unwrap_or(NonZeroUsize::MIN),
			)),
			records_arrived: tokio::sync::Notify::new(),
			uploads,
			trees: Mutex::new(lru::LruCache::new(
				NonZeroUsize::new(64).unwrap_or(NonZeroUsize::MIN),
			)),
		}))
	}

	/// Genesis hash of the chain the server serves.
	pub fn genesis(&self) -> Hash {
		self.chain.genesis()
	}
}

/// Connect to the node, retrying for a while (the node may be starting too).
async fn connect_chain(url: &str) -> anyhow::Result<chain::Chain> {
	let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
	loop {
		match chain::Chain::connect(url).await {
			Ok(c) => return Ok(c),
			Err(e) if tokio::time::Instant::now() < deadline => {
				tracing::warn!("{e}; retrying");
				tokio::time::sleep(Duration::from_secs(1)).await;
			},
			Err(e) => {
				return Err(anyhow::anyhow!(e)).context(
					"cannot reach the chain: start attest-node or pass --chain-rpc ws://HOST:PORT",
				)
			},
		}
	}
}

/// A running server.
pub struct Running {
	/// Address it listens on.
	pub addr: std::net::SocketAddr,
	/// Shared state.
	pub state: Arc<AppState>,
	shutdown: tokio::sync::watch::Sender<bool>,
	task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
	/// Stop accepting requests, finish those in flight, stop background work.
	pub async fn stop(self) -> std::io::Result<()> {
		let _ = self.shutdown.send(true);
		let r = self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
		self.state.store.close().await;
		r
	}
}

/// Longest a TLS handshake may take (a connection that does not finish it is dropped).
pub const TLS_HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(10);

/// Start the server on `config.listen` (port 0 picks a free port) with its anchor watcher,
/// over TLS when `config.tls_cert` and `config.tls_key` are given.
pub async fn start(config: Config) -> anyhow::Result<Running> {
	let listener = tokio::net::TcpListener::bind(config.listen)
		.await
		.with_context(|| format!("cannot listen on {}", config.listen))?;
	let addr = listener.local_addr()?;
	// Read the certificate and key before anything else starts: a bad file is one error.
	let tls = match (&config.tls_cert, &config.tls_key) {
		(Some(cert), Some(key)) => Some(attest_tls::server_config(cert, key)?),
		_ => None,
	};
	let state = AppState::open(config).await?;
	let (shutdown, mut rx) = tokio::sync::watch::channel(false);
	anchors::spawn_watcher(state.clone(), shutdown.subscribe());
	let app = api::router(state.clone());
	let stop = async move {
		let _ = rx.wait_for(|stop| *stop).await;
	};
	let scheme = if tls.is_some() { "https" } else { "http" };
	let task =
		match tls {
			Some(tls) => {
				let listener = attest_tls::TlsListener::new(listener, tls, TLS_HANDSHAKE)?;
				tokio::spawn(async move {
					axum::serve(listener, app).with_graceful_shutdown(stop).await
				})
			},
			None => tokio::spawn(async move {
				axum::serve(listener, app).with_graceful_shutdown(stop).await
			}),
		};
	tracing::info!("attest-server listening on {scheme}://{addr} (genesis {:?})", state.genesis());
	Ok(Running { addr, state, shutdown, task })
}
