//! TLS for the project's HTTP services (the attestation server, the verifier service):
//! `--tls-cert PEM --tls-key PEM` load a certificate chain and its private key
//! ([`server_config`]), and [`TlsListener`] serves axum over TLS.
//!
//! The listener accepts TCP connections and runs each TLS handshake on a task of its own,
//! bounded by a time limit: a stranger who connects and never finishes a handshake holds one
//! task for that long and delays nobody else (a handshake done in `accept` itself would stop
//! every other connection behind it). At most [`MAX_HANDSHAKES`] run at once; connections
//! beyond that wait in the kernel's backlog.

use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::mpsc};
use tokio_rustls::{server::TlsStream, TlsAcceptor};

/// Handshakes in progress at most.
pub const MAX_HANDSHAKES: usize = 256;

/// Why a certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
	/// The certificate file.
	#[error(
		"TLS certificate {path}: {why} (give a PEM file with the certificate chain, leaf first)"
	)]
	Cert {
		/// The file.
		path: String,
		/// Why.
		why: String,
	},
	/// The key file.
	#[error("TLS key {path}: {why} (give a PEM file with the certificate's private key: PKCS#8, PKCS#1 or SEC1)")]
	Key {
		/// The file.
		path: String,
		/// Why.
		why: String,
	},
	/// The pair.
	#[error("TLS certificate and key do not make a server configuration: {0}")]
	Config(String),
}

/// The server configuration of certificate chain `cert` and private key `key` (PEM files).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
	let cert_err = |why: String| TlsError::Cert { path: cert.display().to_string(), why };
	let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
		.map_err(|e| cert_err(e.to_string()))?
		.collect::<Result<_, _>>()
		.map_err(|e| cert_err(e.to_string()))?;
	if chain.is_empty() {
		return Err(cert_err("no certificate in it".into()));
	}
	let private = PrivateKeyDer::from_pem_file(key)
		.map_err(|e| TlsError::Key { path: key.display().to_string(), why: e.to_string() })?;
	let provider = Arc::new(rustls::crypto::ring::default_provider());
	let config = rustls::ServerConfig::builder_with_provider(provider)
		.with_safe_default_protocol_versions()
		.map_err(|e| TlsError::Config(e.to_string()))?
		.with_no_client_auth()
		.with_single_cert(chain, private)
		.map_err(|e| TlsError::Config(e.to_string()))?;
	Ok(Arc::new(config))
}

/// A TCP listener whose connections are TLS: each handshake on a task of its own, given up
/// after a time limit. For `axum::serve` (wrap it in `ListenerExt::tap_io` for
/// `ConnectInfo<SocketAddr>`).
pub struct TlsListener {
	rx: mpsc::Receiver<(TlsStream<tokio::net::TcpStream>, SocketAddr)>,
	local: SocketAddr,
	task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsListener {
	fn drop(&mut self) {
		self.task.abort();
	}
}

impl TlsListener {
	/// Serve TLS with `config` on `listener`; a handshake not done within `handshake` is
	/// dropped.
	pub fn new(
		listener: TcpListener,
		config: Arc<rustls::ServerConfig>,
		handshake: Duration,
	) -> std::io::Result<Self> {
		let local = listener.local_addr()?;
		let acceptor = TlsAcceptor::from(config);
		let (tx, rx) = mpsc::channel(MAX_HANDSHAKES);
		let slots = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
		let task = tokio::spawn(async move {
			loop {
				let Ok(slot) = slots.clone().acquire_owned().await else { return };
				let (tcp, peer) = match listener.accept().await {
					Ok(c) => c,
					Err(e) => {
						// Out of file descriptors and the like: wait, then go on.
						tracing::warn!("accepting a connection: {e}");
						tokio::time::sleep(Duration::from_millis(100)).await;
						continue;
					},
				};
				let (acceptor, tx) = (acceptor.clone(), tx.clone());
				tokio::spawn(async move {
					match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
						Ok(Ok(tls)) => {
							drop(slot);
							let _ = tx.send((tls, peer)).await;
						},
						Ok(Err(e)) => tracing::debug!("TLS handshake with {peer}: {e}"),
						Err(_) => tracing::debug!(
							"TLS handshake with {peer}: not done within {handshake:?}"
						),
					}
				});
			}
		});
		Ok(TlsListener { rx, local, task })
	}
}

impl axum::serve::Listener for TlsListener {
	type Io = TlsStream<tokio::net::TcpStream>;
	type Addr = SocketAddr;

	async fn accept(&mut self) -> (Self::Io, Self::Addr) {
		match self.rx.recv().await {
			Some(c) => c,
			// The accepting task ended (the listener is being dropped): no more connections.
			None => std::future::pending().await,
		}
	}

	fn local_addr(&self) -> std::io::Result<Self::Addr> {
		Ok(self.local)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use tokio::io::{AsyncReadExt, AsyncWriteExt};

	/// A self-signed certificate for `localhost` and 127.0.0.1, as PEM files in `dir`.
	fn self_signed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
		let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
			.expect("certificate");
		let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
		std::fs::write(&c, cert.serialize_pem().expect("PEM")).expect("write");
		std::fs::write(&k, cert.serialize_private_key_pem()).expect("write");
		(c, k)
	}

	#[test]
	fn bad_files_are_named_with_what_to_give() {
		let dir = std::env::temp_dir().join(format!("attest-tls-{}", std::process::id()));
		std::fs::create_dir_all(&dir).expect("dir");
		let (cert, key) = self_signed(&dir);
		assert!(server_config(&cert, &key).is_ok());
		let missing = dir.join("nope.pem");
		let e = server_config(&missing, &key).expect_err("no file").to_string();
		assert!(e.contains("nope.pem") && e.contains("certificate chain"), "{e}");
		let e = server_config(&key, &key).expect_err("a key is no certificate").to_string();
		assert!(e.contains("no certificate") || e.contains("certificate"), "{e}");
		let e = server_config(&cert, &cert).expect_err("a certificate is no key").to_string();
		assert!(e.contains("TLS key") && e.contains("private key"), "{e}");
		let _ = std::fs::remove_dir_all(&dir);
	}

	/// A client that connects and never says hello does not stop another one's handshake.
	#[tokio::test(flavor = "multi_thread")]
	async fn a_silent_connection_delays_nobody() {
		let dir = std::env::temp_dir().join(format!("attest-tls-silent-{}", std::process::id()));
		std::fs::create_dir_all(&dir).expect("dir");
		let (cert, key) = self_signed(&dir);
		let config = server_config(&cert, &key).expect("config");
		let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
		let mut listener = TlsListener::new(tcp, config, Duration::from_secs(30)).expect("tls");
		let addr = axum::serve::Listener::local_addr(&listener).expect("addr");
		let _silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
		// A real client after it.
		let pem = std::fs::read(&cert).expect("cert");
		let mut roots = rustls::RootCertStore::empty();
		for c in CertificateDer::pem_slice_iter(&pem) {
			roots.add(c.expect("cert")).expect("root");
		}
		let client = rustls::ClientConfig::builder_with_provider(Arc::new(
			rustls::crypto::ring::default_provider(),
		))
		.with_safe_default_protocol_versions()
		.expect("versions")
		.with_root_certificates(roots)
		.with_no_client_auth();
		let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
		let client = tokio::spawn(async move {
			let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
			let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
			let mut tls = connector.connect(name, tcp).await.expect("handshake");
			tls.write_all(b"ping").await.expect("write");
			tls.flush().await.expect("flush");
			let mut back = [0u8; 4];
			tls.read_exact(&mut back).await.expect("read");
			back
		});
		let (mut io, _) = tokio::time::timeout(
			Duration::from_secs(5),
			axum::serve::Listener::accept(&mut listener),
		)
		.await
		.expect("the second client's connection, at once");
		let mut got = [0u8; 4];
		io.read_exact(&mut got).await.expect("read");
		io.write_all(b"pong").await.expect("write");
		io.flush().await.expect("flush");
		assert_eq!(&got, b"ping");
		assert_eq!(&client.await.expect("client"), b"pong");
		let _ = std::fs::remove_dir_all(&dir);
	}
}
