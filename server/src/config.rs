//! Server configuration: every setting is a flag and an environment variable.

use clap::Parser;
use std::{net::SocketAddr, path::PathBuf};

/// The attestation server: stores both parties' signed records and the data of attested
/// items, checks anchors against the chain, and proves any attested file.
#[derive(Parser, Debug, Clone)]
#[command(name = "attest-server", version, about, long_about = None)]
pub struct Config {
	/// Address to listen on for HTTP.
	#[arg(long, env = "ATTEST_SERVER_LISTEN", default_value = "127.0.0.1:8080")]
	pub listen: SocketAddr,

	/// Serve HTTPS with this certificate chain (PEM, leaf first); with --tls-key. Without it
	/// the server speaks plain HTTP (for loopback, or behind a reverse proxy that does TLS).
	#[arg(long, env = "ATTEST_SERVER_TLS_CERT", requires = "tls_key", value_name = "PEM")]
	pub tls_cert: Option<PathBuf>,

	/// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
	#[arg(long, env = "ATTEST_SERVER_TLS_KEY", requires = "tls_cert", value_name = "PEM")]
	pub tls_key: Option<PathBuf>,

	/// Directory for the SQLite database (when no --database-url is given) and the blob
	/// store (`<dir>/blobs`). Created when missing.
	#[arg(long, env = "ATTEST_SERVER_DATA_DIR", default_value = "attest-server-data")]
	pub data_dir: PathBuf,

	/// Database: `sqlite://PATH` or `postgres://USER:PASS@HOST:PORT/DB`. Default: the SQLite
	/// file `<data-dir>/attest.sqlite`.
	#[arg(long, env = "ATTEST_SERVER_DATABASE_URL")]
	pub database_url: Option<String>,

	/// Where blobs (the items' data) go: the local directory `<data-dir>/blobs` (default) or
	/// S3-compatible object storage `s3://BUCKET[/PREFIX]` (credentials and region from
	/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`). Uploads are staged and
	/// checked under `<data-dir>/blobs/tmp` either way.
	#[arg(long, env = "ATTEST_SERVER_BLOB_STORE")]
	pub blob_store: Option<String>,

	/// Endpoint of an S3-compatible service (MinIO, Ceph, ...) for `--blob-store s3://...`,
	/// e.g. `http://127.0.0.1:9000`.
	#[arg(long, env = "ATTEST_SERVER_S3_ENDPOINT")]
	pub s3_endpoint: Option<String>,

	/// Write uploads through the page cache. By default (on Linux) they are written with
	/// direct I/O (`O_DIRECT`), which skips a copy and the later writeback and leaves the CPU
	/// to hashing; file systems that refuse direct I/O get page-cache writes by themselves.
	#[arg(long, env = "ATTEST_SERVER_BUFFERED_UPLOADS")]
	pub buffered_uploads: bool,

	/// Most database connections the server opens.
	#[arg(long, env = "ATTEST_SERVER_DB_MAX_CONNECTIONS", default_value_t = 8)]
	pub db_max_connections: u32,

	/// SQLite's page cache for the whole pool, MiB, shared out among its connections (each
	/// keeps its own cache); the operating system's file cache comes on top. PostgreSQL
	/// sizes its own (`shared_buffers`).
	#[arg(long, env = "ATTEST_SERVER_DB_CACHE_MIB", default_value_t = crate::store::DEFAULT_CACHE_MIB)]
	pub db_cache_mib: u32,

	/// WebSocket JSON-RPC URL of an attest-node. Channels and anchors are read from its
	/// storage; anchors only once finalized.
	#[arg(long, env = "ATTEST_SERVER_CHAIN_RPC", default_value = "ws://127.0.0.1:9944")]
	pub chain_rpc: String,

	/// Node JSON-RPC URL that the verify page suggests to its readers for checking anchors
	/// themselves (shown and changeable on the page; `/v1/info` `node`). Default:
	/// `--chain-rpc`.
	#[arg(long, env = "ATTEST_SERVER_PUBLIC_NODE_URL")]
	pub public_node_url: Option<String>,

	/// Largest blob (data of one item) accepted, in bytes.
	#[arg(long, env = "ATTEST_SERVER_MAX_UPLOAD_BYTES", default_value_t = 8 << 30)]
	pub max_upload_bytes: u64,

	/// Largest JSON request body, in bytes (records with inline data included).
	#[arg(long, env = "ATTEST_SERVER_MAX_JSON_BYTES", default_value_t = 16 << 20)]
	pub max_json_bytes: usize,

	/// Most records in one batch submission.
	#[arg(long, env = "ATTEST_SERVER_MAX_BATCH", default_value_t = 10_000)]
	pub max_batch: usize,

	/// Time limit for a whole request other than blob uploads and downloads, in seconds.
	#[arg(long, env = "ATTEST_SERVER_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
	pub request_timeout_secs: u64,

	/// An upload that sends no bytes for this many seconds is dropped (and nothing of it
	/// kept).
	#[arg(long, env = "ATTEST_SERVER_UPLOAD_IDLE_SECS", default_value_t = 30)]
	pub upload_idle_secs: u64,

	/// An upload slower than this on average (bytes per second, counted after the first
	/// `--upload-idle-secs`) is dropped. 0: no minimum.
	#[arg(long, env = "ATTEST_SERVER_UPLOAD_MIN_RATE", default_value_t = 64 * 1024)]
	pub upload_min_rate: u64,

	/// Most uploads (blob uploads and streamed second records) in progress at once; more are
	/// answered 503 `busy` at once.
	#[arg(long, env = "ATTEST_SERVER_MAX_UPLOADS", default_value_t = 64)]
	pub max_uploads: usize,

	/// Most uploads in progress at once per party (the account that signed the upload); more
	/// are answered 429 `too_many_uploads` at once.
	#[arg(long, env = "ATTEST_SERVER_MAX_UPLOADS_PER_PARTY", default_value_t = 8)]
	pub max_uploads_per_party: usize,

	/// Inline data of at most this many bytes is kept in the database, in the same
	/// transaction as its record (one commit per batch); larger data goes to the blob store
	/// (files or S3 objects). 0 keeps all data in the blob store.
	#[arg(long, env = "ATTEST_SERVER_SMALL_DATA_MAX", default_value_t = 64 * 1024)]
	pub small_data_max: u64,

	/// How often to look for new anchors on chain, in seconds (relayed anchors are checked
	/// at once).
	#[arg(long, env = "ATTEST_SERVER_ANCHOR_POLL_SECS", default_value_t = 6)]
	pub anchor_poll_secs: u64,

	/// Longest validity of a signed blob-read request (`expires` minus now), in seconds.
	#[arg(long, env = "ATTEST_SERVER_MAX_READ_VALIDITY_SECS", default_value_t = 3600)]
	pub max_read_validity_secs: u64,

	/// Print the OpenAPI document of the HTTP API (as served at `/v1/openapi.json`) and exit.
	#[arg(long)]
	pub print_openapi: bool,

	/// Log filter (`info`, `attest_server=debug,info`, ...).
	#[arg(long, env = "ATTEST_SERVER_LOG", default_value = "info")]
	pub log: String,
}

impl Config {
	/// The database URL in effect.
	pub fn database_url(&self) -> String {
		match &self.database_url {
			Some(url) => url.clone(),
			None => format!("sqlite://{}", self.data_dir.join("attest.sqlite").display()),
		}
	}

	/// A configuration with defaults (for tests and embedding).
	pub fn with_defaults(data_dir: PathBuf, chain_rpc: String) -> Self {
		let mut c = Config::parse_from(["attest-server"]);
		c.data_dir = data_dir;
		c.chain_rpc = chain_rpc;
		c
	}
}
