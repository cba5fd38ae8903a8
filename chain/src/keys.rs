//! Keys from secret URIs, signing extrinsics (subxt) and protocol messages (sp-core).

use attest_primitives::Hash;
use sp_core::{crypto::Ss58Codec, sr25519, Pair};
use subxt::PolkadotConfig;

/// A key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
	/// The secret URI is not a dev name, a mnemonic or a hex seed (the secret is not repeated).
	#[error(
		"the secret URI is not valid ({0}): give a dev name such as //Alice, a 12/24-word \
		 mnemonic (optionally with //derivation), a 0x-hex 32-byte seed, or a file holding one"
	)]
	Invalid(String),
	/// The key file could not be read.
	#[error("key file {path}: {source}")]
	File {
		/// Path of the file.
		path: String,
		/// Why.
		source: std::io::Error,
	},
	/// No key was given.
	#[error("no key: pass --suri (or set {0})")]
	Missing(&'static str),
}

/// An sr25519 key.
#[derive(Clone)]
pub struct Key {
	pair: sr25519::Pair,
}

impl std::fmt::Debug for Key {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		// The public key only: a key's secret is never printed or logged.
		write!(f, "Key({})", self.address())
	}
}

impl Key {
	/// From a secret URI: `//Alice` (dev keys), a mnemonic with optional `//hard/soft`
	/// derivations and `///password`, or a `0x`-hex seed; `file:PATH` or `@PATH` reads the URI
	/// from a file (its first line).
	pub fn from_suri(suri: &str) -> Result<Self, KeyError> {
		let suri = suri.trim();
		let path = suri.strip_prefix("file:").or_else(|| suri.strip_prefix('@'));
		let secret = match path {
			Some(path) => {
				let text = std::fs::read_to_string(path)
					.map_err(|source| KeyError::File { path: path.to_string(), source })?;
				zeroize::Zeroizing::new(text.lines().next().unwrap_or_default().trim().to_string())
			},
			None => zeroize::Zeroizing::new(suri.to_string()),
		};
		let pair = sr25519::Pair::from_string(&secret, None)
			.map_err(|e| KeyError::Invalid(format!("{e:?}")))?;
		Ok(Key { pair })
	}

	/// From `--suri` if given, else the environment variable `env`.
	pub fn from_arg_or_env(suri: Option<&str>, env: &'static str) -> Result<Self, KeyError> {
		match suri {
			Some(s) => Self::from_suri(s),
			None => match std::env::var(env) {
				Ok(s) => Self::from_suri(&s),
				Err(_) => Err(KeyError::Missing(env)),
			},
		}
	}

	/// The sp-core pair, for protocol signatures (`attest_primitives::signing::sign`).
	pub fn pair(&self) -> &sr25519::Pair {
		&self.pair
	}

	/// The public key (= the account id).
	pub fn public(&self) -> [u8; 32] {
		self.pair.public().0
	}

	/// The account as `sp_runtime::AccountId32`.
	pub fn account(&self) -> sp_runtime::AccountId32 {
		self.public().into()
	}

	/// The SS58 address (generic prefix 42).
	pub fn address(&self) -> String {
		self.pair.public().to_ss58check()
	}

	/// The public key as the protocol's `MultiSigner`.
	pub fn signer(&self) -> sp_runtime::MultiSigner {
		self.pair.public().into()
	}

	/// Sign a protocol message.
	pub fn sign<M: codec::Encode + ?Sized>(
		&self,
		kind: attest_primitives::signing::Kind,
		genesis: &Hash,
		channel: &Hash,
		message: &M,
	) -> sp_runtime::MultiSignature {
		attest_primitives::signing::sign::sign(&self.pair, kind, genesis, channel, message)
	}
}

impl subxt::transactions::Signer<PolkadotConfig> for Key {
	fn account_id(&self) -> subxt::utils::AccountId32 {
		subxt::utils::AccountId32(self.public())
	}

	fn sign(&self, payload: &[u8]) -> subxt::utils::MultiSignature {
		subxt::utils::MultiSignature::Sr25519(self.pair.sign(payload).0)
	}
}

/// An SS58 address or `0x`-hex public key as 32 bytes.
pub fn parse_account(s: &str) -> Option<[u8; 32]> {
	if let Some(hex) = s.strip_prefix("0x") {
		let mut out = [0u8; 32];
		let bytes = (0..hex.len())
			.step_by(2)
			.map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
			.collect::<Option<Vec<u8>>>()?;
		(bytes.len() == 32).then(|| out.copy_from_slice(&bytes))?;
		return Some(out);
	}
	sp_core::crypto::AccountId32::from_ss58check(s).ok().map(Into::into)
}
