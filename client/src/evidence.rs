//! Checking evidence: a file against an attestation server and the chain (`attest verify`),
//! a file's proof written to a file (`attest proof export`), and such a file checked again,
//! against the node or offline against anchors the user trusts (`attest proof check`).
//!
//! Each check returns a verdict; printing it (text or JSON) is the CLI's part.

use crate::{
	chain::{parse_account, Chain},
	server_api::{ClaimState, Server, ServerError},
};
use anyhow::{anyhow, Context};
use attest_primitives::{channel::Seq, Anchor, Hash};
use attest_wire::{hex0x, ProofFile};
use codec::Encode;
use sp_core::crypto::Ss58Codec;
use sp_runtime::AccountId32;
use std::{collections::HashMap, path::Path};

/// The files `paths` name: a file as given, a directory's regular files (walked, sorted by
/// name), so that `attest verify DIR` and `attest proof export DIR` take what `attest submit
/// DIR` took.
pub fn files_under(paths: &[std::path::PathBuf]) -> anyhow::Result<Vec<std::path::PathBuf>> {
	let mut out = Vec::new();
	for p in paths {
		if p.is_dir() {
			for e in walkdir::WalkDir::new(p).sort_by_file_name() {
				let e = e.with_context(|| format!("walking {}", p.display()))?;
				if e.file_type().is_file() {
					out.push(e.into_path());
				}
			}
		} else {
			out.push(p.clone());
		}
	}
	Ok(out)
}

/// A later claim of the same bytes than the first attester's.
#[derive(Debug, Clone)]
pub struct LaterClaim {
	/// Its channel.
	pub channel: Hash,
	/// Its position in the channel.
	pub seq: Seq,
	/// Its requester, if the server knows the channel.
	pub requester: Option<AccountId32>,
	/// Its verifier, if the server knows the channel.
	pub verifier: Option<AccountId32>,
	/// Where it stands.
	pub status: ClaimState,
	/// The block of its anchor, once anchored.
	pub block: Option<u32>,
}

/// A file proven attested: by whom first, where, and when.
#[derive(Debug, Clone)]
pub struct Attested {
	/// Its size, bytes.
	pub size: u64,
	/// The requester of the first claim (the first attester).
	pub requester: Option<AccountId32>,
	/// Its verifier.
	pub verifier: Option<AccountId32>,
	/// Its position in its channel.
	pub seq: Seq,
	/// The anchor on chain holding it.
	pub anchor: Anchor,
	/// The hash of the anchor's block.
	pub block_hash: Hash,
	/// The time of that block, unix ms.
	pub block_time_ms: u64,
	/// Every other claim of the same bytes (not a wrong one), none anchored earlier.
	pub later: Vec<LaterClaim>,
	/// With `--owner`: whether that account is the first attester.
	pub owner: Option<bool>,
}

/// What `attest verify` found for one file.
#[derive(Debug, Clone)]
pub struct Verdict {
	/// The file.
	pub file: String,
	/// Its SHA-256.
	pub digest: Hash,
	/// Attested, or why not.
	pub outcome: Result<Attested, String>,
}

/// SS58 of an account, `-` when unknown.
fn ss58(a: &Option<AccountId32>) -> String {
	a.as_ref().map(Ss58Codec::to_ss58check).unwrap_or_else(|| "-".into())
}

impl Verdict {
	/// Attested, and (with `--owner`) by that owner first.
	pub fn passed(&self) -> bool {
		self.outcome.as_ref().is_ok_and(|a| a.owner != Some(false))
	}

	/// The `--json` line.
	pub fn to_json(&self) -> serde_json::Value {
		let a = match &self.outcome {
			Err(why) => {
				return serde_json::json!({
					"file": self.file, "digest": self.digest, "attested": false, "error": why
				})
			},
			Ok(a) => a,
		};
		let later: Vec<serde_json::Value> = a
			.later
			.iter()
			.map(|c| {
				serde_json::json!({
					"channel": c.channel, "seq": c.seq, "requester": ss58(&c.requester),
					"verifier": ss58(&c.verifier), "status": c.status, "block": c.block,
				})
			})
			.collect();
		serde_json::json!({
			"file": self.file, "digest": self.digest, "size": a.size, "attested": true,
			"requester": ss58(&a.requester), "verifier": ss58(&a.verifier),
			"channel": a.anchor.channel_id, "seq": a.seq, "anchorIndex": a.anchor.index,
			"block": a.anchor.block, "blockHash": a.block_hash, "blockTimeMs": a.block_time_ms,
			"root": a.anchor.log.root, "laterClaims": later, "owner": a.owner,
		})
	}
}

impl std::fmt::Display for Verdict {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		let a = match &self.outcome {
			Err(why) => return write!(f, "NOT ATTESTED {} ({:?}): {why}", self.file, self.digest),
			Ok(a) => a,
		};
		write!(
			f,
			"ATTESTED {} ({} bytes)\n  digest    {:?}\n  requester {} (first attester)\n  verifier  \
			 {}\n  channel   {:?} seq {}\n  anchored  in block {} ({:?}) at unix ms {}, anchor {} of \
			 the channel, root {:?}",
			self.file,
			a.size,
			self.digest,
			ss58(&a.requester),
			ss58(&a.verifier),
			a.anchor.channel_id,
			a.seq,
			a.anchor.block,
			a.block_hash,
			a.block_time_ms,
			a.anchor.index,
			a.anchor.log.root
		)?;
		if !a.later.is_empty() {
			let shown: Vec<String> = a
				.later
				.iter()
				.take(3)
				.map(|c| match c.block {
					Some(b) => format!("{} in block {b}", ss58(&c.requester)),
					None => format!("{} (not anchored yet)", ss58(&c.requester)),
				})
				.collect();
			write!(
				f,
				"\n  later     {} later claim(s) of the same bytes: {}{}",
				a.later.len(),
				shown.join(", "),
				if a.later.len() > 3 { ", ... (--json lists all)" } else { "" }
			)?;
		}
		if a.owner == Some(false) {
			write!(
				f,
				"\nNOT OWNER {}: its first attester is {}, not the --owner given",
				self.file,
				ss58(&a.requester)
			)?;
		}
		Ok(())
	}
}

/// Checks files against one attestation server and one node, remembering the finalized
/// anchors (and their blocks' hash and time) it read.
pub struct FileChecker<'a> {
	chain: &'a Chain,
	server: &'a Server,
	anchors: HashMap<(Hash, u32), (Option<Anchor>, Hash, u64)>,
}

impl<'a> FileChecker<'a> {
	/// A checker asking `server` for proofs and `chain` for anchors.
	pub fn new(chain: &'a Chain, server: &'a Server) -> Self {
		FileChecker { chain, server, anchors: HashMap::new() }
	}

	/// Verify `file`: the server's proof of its digest must check, its anchor be the one in
	/// finalized chain storage, and it must be of the first anchored claim the server lists;
	/// with `owner`, say whether that account is the first attester. `Err` only when the file
	/// cannot be read or the node fails.
	pub async fn verify(
		&mut self,
		file: &Path,
		owner: Option<[u8; 32]>,
	) -> anyhow::Result<Verdict> {
		let (digest, size) = attest_primitives::digest::sha256_file(file)
			.with_context(|| file.display().to_string())?;
		let outcome = self.attested(digest, size, owner).await?;
		Ok(Verdict { file: file.display().to_string(), digest, outcome })
	}

	async fn attested(
		&mut self,
		digest: Hash,
		size: u64,
		owner: Option<[u8; 32]>,
	) -> anyhow::Result<Result<Attested, String>> {
		let (genesis, proof) = match self.server.proof(&digest, None).await {
			Ok(p) => p,
			// No answer, or the server failing: nothing is known of the file (exit status 2,
			// not "not attested").
			Err(e @ ServerError::Http { .. }) => return Err(e.into()),
			Err(ServerError::Status { status, .. }) if status >= 500 => {
				return Err(anyhow!(
					"attestation server at {} failed ({status}); retry later",
					self.server.url()
				))
			},
			Err(e) => return Ok(Err(e.to_string())),
		};
		if genesis != self.chain.genesis() {
			return Ok(Err(format!(
				"the server's proof is for chain {genesis:?}, the node's is {:?}",
				self.chain.genesis()
			)));
		}
		let item = match proof.verify(&genesis, &digest) {
			Ok(i) => i,
			Err(e) => return Ok(Err(e.to_string())),
		};
		let key = (proof.anchor.channel_id, proof.anchor.index);
		let (on_chain, block_hash, block_time_ms) = match self.anchors.get(&key).copied() {
			Some(c) => c,
			None => {
				let a = self.chain.finalized_anchor(&key.0, key.1).await?.map(|(a, _)| a);
				let h = self.chain.block_hash(proof.anchor.block).await?.unwrap_or_default();
				let t = self.chain.block_time(h).await.unwrap_or(0);
				// Only a finalized anchor is remembered (one that is not may be later).
				if a.is_some() {
					self.anchors.insert(key, (a, h, t));
				}
				(a, h, t)
			},
		};
		if let Err(e) = proof.check_anchor(on_chain.as_ref()) {
			return Ok(Err(e.to_string()));
		}
		// The other claims of these bytes: the proof must be of the earliest anchored one (the
		// evidence of who held them first); every later claim is shown with its own anchor.
		let claims = self.server.claims(&digest).await.unwrap_or_default();
		let this = (proof.anchor.channel_id, item.seq);
		let others: Vec<_> = claims
			.iter()
			.filter(|c| (c.channel_id, c.seq) != this && c.status != ClaimState::Wrong)
			.collect();
		if let Some(e) =
			others.iter().find(|c| c.anchor.is_some_and(|a| a.block < proof.anchor.block))
		{
			return Ok(Err(format!(
				"the server proved a claim anchored in block {}, but lists an earlier one \
				 (channel {:?} seq {}, block {}): its proof is not of the first attester; ask \
				 another server",
				proof.anchor.block,
				e.channel_id,
				e.seq,
				e.anchor.map_or(0, |a| a.block)
			)));
		}
		let account =
			|hex: &Option<String>| hex.as_deref().and_then(parse_account).map(AccountId32::new);
		let later = others
			.iter()
			.map(|c| LaterClaim {
				channel: c.channel_id,
				seq: c.seq,
				requester: account(&c.requester),
				verifier: account(&c.verifier),
				status: c.status,
				block: c.anchor.map(|a| a.block),
			})
			.collect();
		let owner = owner.map(|o| item.requester == Some(AccountId32::new(o)));
		Ok(Ok(Attested {
			size,
			requester: item.requester,
			verifier: item.verifier,
			seq: item.seq,
			anchor: proof.anchor,
			block_hash,
			block_time_ms,
			later,
			owner,
		}))
	}
}

/// The proof file of the file with `digest`: the server's proof, checked, with its anchor
/// block's hash and time (`blocks` remembers those by block number).
pub async fn export_proof(
	chain: &Chain,
	server: &Server,
	digest: &Hash,
	blocks: &mut HashMap<u32, (Hash, u64)>,
) -> anyhow::Result<ProofFile> {
	let (genesis, proof) = server.proof(digest, None).await?;
	proof.verify(&genesis, digest)?;
	let (block_hash, block_time) = match blocks.get(&proof.anchor.block) {
		Some(b) => *b,
		None => {
			let hash = chain
				.block_hash(proof.anchor.block)
				.await?
				.ok_or_else(|| anyhow!("block {} not found", proof.anchor.block))?;
			let b = (hash, chain.block_time(hash).await?);
			blocks.insert(proof.anchor.block, b);
			b
		},
	};
	Ok(ProofFile { genesis, block_hash, block_time, scale: hex0x(&proof.encode()), proof })
}

/// What a proof file is checked against.
pub enum Trust<'a> {
	/// The node's finalized storage.
	Node(&'a Chain),
	/// Anchors the user trusts: `(block hash, root)`.
	Anchors(&'a [(Hash, Hash)]),
}

/// A proof file that checks: which item of which channel the digest is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidProof {
	/// The digest proven.
	pub digest: Hash,
	/// Its position in the channel.
	pub seq: Seq,
	/// The channel.
	pub channel: Hash,
	/// The anchor's block.
	pub block: u32,
}

/// Check a proof file: its SCALE bytes (which its JSON must say too) prove `digest` (or the
/// digest its records name) under an anchor `trust` holds. `Ok(Err(why))` for a proof that
/// does not check; `Err` when the node fails or the proof names no digest and none is given.
pub async fn check_proof_file(
	f: &ProofFile,
	digest: Option<Hash>,
	trust: Trust<'_>,
) -> anyhow::Result<Result<ValidProof, String>> {
	// The SCALE bytes are what is checked, all of them; the JSON a person reads must say the
	// same, field for field, or the file is refused.
	let proof = match f.decode() {
		Ok(p) => p,
		Err(e) => return Ok(Err(e.to_string())),
	};
	let digest = match digest {
		Some(d) => d,
		None => proof
			.claimed_digest()
			.ok_or_else(|| anyhow!("the proof has no record naming the digest: pass --file"))?,
	};
	let item = match proof.verify(&f.genesis, &digest) {
		Ok(i) => i,
		Err(e) => return Ok(Err(e.to_string())),
	};
	match trust {
		Trust::Node(chain) => {
			if chain.genesis() != f.genesis {
				return Ok(Err(format!(
					"the proof is for chain {:?}, the node's is {:?}",
					f.genesis,
					chain.genesis()
				)));
			}
			let on_chain =
				chain.finalized_anchor(&proof.anchor.channel_id, proof.anchor.index).await?;
			if let Err(e) = proof.check_anchor(on_chain.as_ref().map(|(a, _)| a)) {
				return Ok(Err(e.to_string()));
			}
		},
		Trust::Anchors(trusted) => {
			if !trusted.contains(&(f.block_hash, proof.anchor.log.root)) {
				return Ok(Err(format!(
					"the proof's anchor (block {:?}, root {:?}) is not a trusted one",
					f.block_hash, proof.anchor.log.root
				)));
			}
		},
	}
	Ok(Ok(ValidProof {
		digest,
		seq: item.seq,
		channel: proof.anchor.channel_id,
		block: proof.anchor.block,
	}))
}
