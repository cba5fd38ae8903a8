//! Checking evidence: a file against an attestation server and the chain (`attest verify`),
//! a file's proof written to a file (`attest proof export`), and such a file checked again,
//! against the node or offline against anchors the user trusts (`attest proof check`).
//!
//! Each check returns a verdict; printing it (text or JSON) is the CLI's part.

use crate::{
	chain::{parse_account, Chain},
	server_api::{ClaimState, Server, ServerError},
};
use anyhow::{anyhow, bail, Context};
use attest_finality::{ChainEvidence, Finalized, ProofV2, TrustRoot};
use attest_primitives::{channel::Seq, signing::account_of, Anchor, Hash};
use attest_wire::{hex0x, ProofFile};
use codec::Encode;
use sp_core::crypto::Ss58Codec;
use sp_runtime::AccountId32;
use std::{collections::HashMap, path::Path};

/// Unix milliseconds as RFC 3339 UTC, to the second.
pub fn utc(ms: u64) -> String {
	let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(ms / 1000);
	humantime::format_rfc3339_seconds(t).to_string()
}

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

impl Attested {
	/// How many later claims were anchored in the first attester's block (a tie on chain:
	/// within a block the order is its author's).
	pub fn tied(&self) -> usize {
		self.later.iter().filter(|c| c.block == Some(self.anchor.block)).count()
	}
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
			"root": a.anchor.log.root, "laterClaims": later, "tiedClaims": a.tied(),
			"owner": a.owner,
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
			 {}\n  channel   {:?} seq {}\n  anchored  in block {} ({:?}) at {}, anchor {} of \
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
			utc(a.block_time_ms),
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
		let tied = a.tied();
		if tied > 0 {
			write!(
				f,
				"\n  tied      {tied} of them anchored in the same block {}: within a block the \
				 order is its author's, no evidence of who held the bytes first",
				a.anchor.block
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

/// What `attest verify` checks a server's proof against.
pub enum Anchoring<'a> {
	/// A node's finalized storage (the anchor as stored, its block's hash and time).
	Node(&'a Chain),
	/// The chain spec alone: the server's format-2 proof must check from its genesis, GRANDPA
	/// finality included; no node is asked.
	Spec(&'a TrustRoot),
}

/// Checks files against one attestation server and one node (or the chain spec), remembering
/// the finalized anchors (and their blocks' hash and time) it read.
pub struct FileChecker<'a> {
	anchoring: Anchoring<'a>,
	server: &'a Server,
	anchors: HashMap<(Hash, u32), (Option<Anchor>, Hash, u64)>,
	wait_anchored: std::time::Duration,
}

/// The server's answer for an item claimed in a state both signed but not in a final anchor
/// yet (`409 not_ready`: the channel's next checkpoint or close is not final).
fn not_anchored_yet(e: &ServerError) -> bool {
	matches!(e, ServerError::Status { status: 409, body, .. } if body.contains("\"not_ready\""))
}

impl<'a> FileChecker<'a> {
	/// A checker asking `server` for proofs and `chain` for anchors.
	pub fn new(chain: &'a Chain, server: &'a Server) -> Self {
		Self::with(Anchoring::Node(chain), server)
	}

	/// A checker asking `server` for proofs, checked as `anchoring` says.
	pub fn with(anchoring: Anchoring<'a>, server: &'a Server) -> Self {
		FileChecker {
			anchoring,
			server,
			anchors: HashMap::new(),
			wait_anchored: std::time::Duration::ZERO,
		}
	}

	/// Wait up to `wait` for an item that is claimed but whose anchor is not final yet (right
	/// after `attest channel checkpoint`), asking again every second; after that the file is
	/// an error (could not check yet), never "not attested".
	pub fn wait_anchored(mut self, wait: std::time::Duration) -> Self {
		self.wait_anchored = wait;
		self
	}

	/// The error for an item still not anchored after the wait.
	fn still_not_anchored(&self, digest: &Hash) -> anyhow::Error {
		anyhow!(
			"{digest:?} is claimed in a channel but not anchored yet: the channel's checkpoint \
			 or close is not final after {} s of waiting; check again once it is (a GRANDPA \
			 network finalizes within a minute; --wait SECS waits longer)",
			self.wait_anchored.as_secs()
		)
	}

	/// The server's format-2 proof of `digest`, checked with the chain spec `root`: the
	/// anchor it proves, its block's hash and time.
	async fn spec_anchored(
		&self,
		root: &TrustRoot,
		digest: &Hash,
	) -> anyhow::Result<Result<(Anchor, Hash, u64), String>> {
		let deadline = std::time::Instant::now() + self.wait_anchored;
		let f = loop {
			match self.server.proof_v2(digest).await {
				Ok(Some(f)) => break f,
				// Built once the anchor is final: not known yet.
				Ok(None) => {},
				Err(e) if not_anchored_yet(&e) => {},
				Err(e @ ServerError::Http { .. }) => return Err(e.into()),
				Err(e) => return Ok(Err(e.to_string())),
			}
			if std::time::Instant::now() >= deadline {
				return Err(self.still_not_anchored(digest));
			}
			tokio::time::sleep(std::time::Duration::from_secs(1)).await;
		};
		Ok(check_v2(&f, Some(*digest), root, Finality::Proof).and_then(|v| {
			let s = v.standing.ok_or("the proof says nothing of its block")?;
			Ok((f.proof.anchor, s.block_hash, s.block_time_ms))
		}))
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
		let deadline = std::time::Instant::now() + self.wait_anchored;
		let (genesis, proof) = loop {
			match self.server.proof(&digest, None).await {
				Ok(p) => break p,
				// No answer, or the server failing: nothing is known of the file (exit status
				// 2, not "not attested").
				Err(e @ ServerError::Http { .. }) => return Err(e.into()),
				Err(ServerError::Status { status, .. }) if status >= 500 => {
					return Err(anyhow!(
						"attestation server at {} failed ({status}); retry later",
						self.server.url()
					))
				},
				// Claimed, its anchor not final yet: wait, then "could not check yet".
				Err(e) if not_anchored_yet(&e) => {
					if std::time::Instant::now() >= deadline {
						return Err(self.still_not_anchored(&digest));
					}
					tokio::time::sleep(std::time::Duration::from_secs(1)).await;
				},
				Err(e) => return Ok(Err(e.to_string())),
			}
		};
		let chain_genesis = match &self.anchoring {
			Anchoring::Node(chain) => chain.genesis(),
			Anchoring::Spec(root) => root.genesis,
		};
		if genesis != chain_genesis {
			return Ok(Err(format!(
				"the server's proof is for chain {genesis:?}, the node's (or chain spec's) is \
				 {chain_genesis:?}"
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
				let (a, h, t) = match &self.anchoring {
					Anchoring::Node(chain) => {
						let a = chain.finalized_anchor(&key.0, key.1).await?.map(|(a, _)| a);
						let h = chain.block_hash(proof.anchor.block).await?.unwrap_or_default();
						(a, h, chain.block_time(h).await.unwrap_or(0))
					},
					// The anchor as the chain's own evidence proves it, with no node.
					Anchoring::Spec(root) => match self.spec_anchored(root, &digest).await? {
						Ok((a, h, t)) => (Some(a), h, t),
						Err(why) => return Ok(Err(why)),
					},
				};
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

/// What exports ask the chain once per anchor: the chain's evidence for it (header, storage
/// proof, finality) and its block's time.
#[derive(Default)]
pub struct ExportCache {
	anchors: HashMap<(Hash, u32), (ChainEvidence, u64)>,
	trust: Option<TrustRoot>,
}

/// The proof file (format 2) of the file with `digest`: the server's proof with the chain's
/// evidence for its anchor, checked as `attest proof check` will check it.
pub async fn export_proof(
	chain: &Chain,
	server: &Server,
	digest: &Hash,
	cache: &mut ExportCache,
) -> anyhow::Result<ProofFile> {
	if cache.trust.is_none() {
		cache.trust = Some(chain.trust_root().await?);
	}
	// The server's own format-2 proof, when it has built its anchor's evidence; checked here
	// as `attest proof check --node` checks it.
	if let (Some(f), Some(trust)) = (server.proof_v2(digest).await?, &cache.trust) {
		match check_v2(&f, Some(*digest), trust, Finality::ProofOrNode) {
			Ok(_) => return Ok(f),
			Err(why) => bail!("the server's proof of {digest:?} does not check: {why}"),
		}
	}
	let (genesis, item) = server.proof(digest, None).await?;
	item.verify(&genesis, digest)?;
	let anchor = item.anchor;
	let key = (anchor.channel_id, anchor.index);
	let (evidence, block_time) = match cache.anchors.get(&key) {
		Some(cached) => cached.clone(),
		None => {
			let (requester, verifier) = match (&item.requester_record, &item.verifier_record) {
				(Some(r), Some(v)) => (account_of(&r.requester), account_of(&v.verifier)),
				_ => bail!(
					"the server's proof lacks a party's record: a proof that stands alone \
					 names both parties"
				),
			};
			let block_hash = chain
				.block_hash(anchor.block)
				.await?
				.ok_or_else(|| anyhow!("block {} not found", anchor.block))?;
			let evidence = chain.anchor_evidence(&anchor, block_hash, requester, verifier).await?;
			let time = chain.block_time(block_hash).await?;
			cache.anchors.insert(key, (evidence.clone(), time));
			(evidence, time)
		},
	};
	let proof = ProofV2 { item, chain: evidence };
	if let Some(trust) = &cache.trust {
		proof.verify(trust, digest).context("the exported proof does not check")?;
	}
	Ok(ProofFile {
		version: 2,
		genesis,
		block_hash: proof.block_hash(),
		block_time,
		scale: hex0x(&proof.encode()),
		proof: proof.item,
	})
}

/// What a proof file is checked against.
pub enum Trust<'a> {
	/// The node's finalized storage.
	Node(&'a Chain),
	/// Anchors the user trusts: `(block hash, root)` (format 1).
	Anchors(&'a [(Hash, Hash)]),
	/// The chain spec alone (format 2).
	Spec(&'a TrustRoot),
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
	/// Format 2: the channel's parties (requester, verifier), the block time (unix ms) and
	/// which GRANDPA set finalized the block (from its justification of block `.3`).
	pub standing: Option<Standing>,
}

/// What a format-2 proof proves beyond the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
	/// The channel's requester.
	pub requester: AccountId32,
	/// The channel's verifier.
	pub verifier: AccountId32,
	/// The anchor block's hash.
	pub block_hash: Hash,
	/// Its time, unix ms.
	pub block_time_ms: u64,
	/// The set that finalized it and the block its justification is of; `None` for a chain
	/// sealed by hand, whose node confirmed the block instead.
	pub finalized_by: Option<(u64, u32)>,
}

impl ValidProof {
	/// The `--json` line of proof file `file` (`valid: true`; format 2 adds the parties, the
	/// block's hash and time, and the GRANDPA set that finalized it).
	pub fn to_json(&self, file: &str) -> serde_json::Value {
		let mut v = serde_json::json!({
			"proof": file, "valid": true, "digest": self.digest, "seq": self.seq,
			"channel": self.channel, "block": self.block,
		});
		if let Some(s) = &self.standing {
			v["requester"] = s.requester.to_ss58check().into();
			v["verifier"] = s.verifier.to_ss58check().into();
			v["blockHash"] = serde_json::json!(s.block_hash);
			v["blockTimeMs"] = s.block_time_ms.into();
			v["time"] = utc(s.block_time_ms).into();
			v["finalizedBy"] = match s.finalized_by {
				Some((set, block)) => {
					serde_json::json!({ "authoritySet": set, "justificationOf": block })
				},
				None => serde_json::Value::Null,
			};
		}
		v
	}
}

impl std::fmt::Display for ValidProof {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "{:?} is item {} of channel {:?}", self.digest, self.seq, self.channel)?;
		match &self.standing {
			Some(s) => {
				write!(
					f,
					" (requester {}, verifier {}), anchored in block {} ({:?}) at {}, ",
					s.requester.to_ss58check(),
					s.verifier.to_ss58check(),
					self.block,
					s.block_hash,
					utc(s.block_time_ms),
				)?;
				match s.finalized_by {
					Some((set, block)) => write!(
						f,
						"final by GRANDPA authority set {set} (justification of block {block})"
					),
					None => write!(f, "its block confirmed by the node or the anchor you trust"),
				}
			},
			None => write!(f, ", anchored in block {}", self.block),
		}
	}
}

/// Decode a format-2 file: its SCALE bytes whole, the JSON a person reads (bundle, block hash)
/// equal to what they say.
fn decode_v2(f: &ProofFile) -> Result<ProofV2, String> {
	use codec::DecodeAll as _;
	let bytes = attest_wire::hex_decode(&f.scale).ok_or("its scale field is not hex")?;
	let proof = ProofV2::decode_all(&mut &bytes[..])
		.map_err(|_| "its SCALE bytes do not decode as one v2 proof (with nothing after it)")?;
	if proof.item != f.proof || proof.block_hash() != f.block_hash {
		return Err(
			"its JSON says other than its SCALE bytes (the JSON was edited?): re-export it".into(),
		);
	}
	Ok(proof)
}

/// Who vouches for a format-2 proof's block.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Finality {
	/// Its GRANDPA finality proof, from the chain spec's genesis set: nothing else.
	Proof,
	/// The proof's finality if it carries one; a node of the chain confirms the block too (so
	/// a proof without finality, of a chain sealed by hand, is not refused here).
	ProofOrNode,
	/// The user trusts the block (`--anchor`): finality is not checked.
	Trusted,
}

/// Check a format-2 file against `trust` (a node's chain or a spec's), its finality as
/// `finality` says.
fn check_v2(
	f: &ProofFile,
	digest: Option<Hash>,
	trust: &TrustRoot,
	finality: Finality,
) -> Result<ValidProof, String> {
	let mut proof = decode_v2(f)?;
	if finality == Finality::Trusted {
		proof.chain.finality = None;
	}
	if f.genesis != trust.genesis {
		return Err(format!(
			"the proof is of chain {:?}, the chain spec's genesis is {:?}",
			f.genesis, trust.genesis
		));
	}
	let digest = match digest.or(proof.item.claimed_digest()) {
		Some(d) => d,
		None => return Err("the proof has no record naming the digest: pass --file".into()),
	};
	let proven = proof.verify(trust, &digest).map_err(|e| e.to_string())?;
	if proven.block_time_ms != f.block_time {
		return Err(format!(
			"its JSON says block time {}, the block's state says {}: re-export it",
			f.block_time, proven.block_time_ms
		));
	}
	let finalized_by = match proven.finalized {
		Finalized::Grandpa { set_id, justified } => Some((set_id, justified)),
		Finalized::NotProven if finality != Finality::Proof => None,
		Finalized::NotProven => {
			return Err("it carries no finality (its chain seals blocks by hand): its header, \
			            state and records check, but only a node of that chain can confirm the \
			            block (check with --node)"
				.into())
		},
	};
	Ok(ValidProof {
		digest,
		seq: proven.item.seq,
		channel: proof.item.anchor.channel_id,
		block: proof.item.anchor.block,
		standing: Some(Standing {
			requester: proven.requester,
			verifier: proven.verifier,
			block_hash: proven.block_hash,
			block_time_ms: proven.block_time_ms,
			finalized_by,
		}),
	})
}

/// Check a proof file: its SCALE bytes (which its JSON must say too) prove `digest` (or the
/// digest its records name) under an anchor `trust` holds. `Ok(Err(why))` for a proof that
/// does not check; `Err` when the node fails or the proof names no digest and none is given.
pub async fn check_proof_file(
	f: &ProofFile,
	digest: Option<Hash>,
	trust: Trust<'_>,
) -> anyhow::Result<Result<ValidProof, String>> {
	if f.version == 2 {
		return Ok(match trust {
			Trust::Spec(root) => check_v2(f, digest, root, Finality::Proof),
			Trust::Anchors(trusted) => {
				let root = f.proof.anchor.log.root;
				if !trusted.contains(&(f.block_hash, root)) {
					return Ok(Err(format!(
						"the proof's anchor (block {:?}, root {:?}) is not a trusted one",
						f.block_hash, root
					)));
				}
				// The block is trusted; its header, state and the records are checked (the
				// chain's genesis is the proof's: it derives the channel id the block holds).
				let root = TrustRoot { genesis: f.genesis, authorities: Vec::new() };
				check_v2(f, digest, &root, Finality::Trusted)
			},
			Trust::Node(chain) => {
				if chain.genesis() != f.genesis {
					return Ok(Err(format!(
						"the proof is for chain {:?}, the node's is {:?}",
						f.genesis,
						chain.genesis()
					)));
				}
				let root = chain.trust_root().await?;
				match check_v2(f, digest, &root, Finality::ProofOrNode) {
					// The node's own chain must hold the same block and anchor (the file's JSON
					// is what its bytes say: check_v2 compared them).
					Ok(v) => {
						let anchor = &f.proof.anchor;
						if chain.block_hash(anchor.block).await? != Some(f.block_hash) {
							return Ok(Err(format!(
								"the node's block {} is not the proof's block {:?}",
								anchor.block, f.block_hash
							)));
						}
						let on_chain =
							chain.finalized_anchor(&anchor.channel_id, anchor.index).await?;
						match f.proof.check_anchor(on_chain.as_ref().map(|(a, _)| a)) {
							Ok(()) => Ok(v),
							Err(e) => Err(e.to_string()),
						}
					},
					Err(e) => Err(e),
				}
			},
		});
	}
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
		Trust::Spec(_) => {
			return Ok(Err("a format-1 proof carries no chain evidence: check it against a \
			               node (--node) or anchors you trust (--anchor); export it again for \
			               a proof that checks with the chain spec"
				.into()))
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
		standing: None,
	}))
}

#[cfg(test)]
mod tests {
	use super::*;
	use attest_primitives::LogHead;

	fn claim(block: Option<u32>, who: u8) -> LaterClaim {
		LaterClaim {
			channel: Hash([who; 32]),
			seq: 0,
			requester: Some(AccountId32::new([who; 32])),
			verifier: None,
			status: if block.is_some() { ClaimState::Anchored } else { ClaimState::Pending },
			block,
		}
	}

	fn verdict(later: Vec<LaterClaim>) -> Verdict {
		let anchor = Anchor {
			channel_id: Hash([1; 32]),
			index: 0,
			first_seq: 0,
			log: LogHead { size: 1, root: Hash([2; 32]) },
			block: 7,
		};
		Verdict {
			file: "deed.pdf".into(),
			digest: Hash([3; 32]),
			outcome: Ok(Attested {
				size: 10,
				requester: Some(AccountId32::new([1; 32])),
				verifier: None,
				seq: 0,
				anchor,
				block_hash: Hash([4; 32]),
				block_time_ms: 0,
				later,
				owner: None,
			}),
		}
	}

	/// A claim anchored in the first attester's block is a tie, said so in text and JSON; a
	/// claim in a later block or not anchored is not.
	#[test]
	fn claims_in_the_first_attesters_block_are_ties() {
		let v = verdict(vec![claim(Some(9), 5), claim(None, 6)]);
		let text = v.to_string();
		assert!(text.contains("2 later claim(s)") && !text.contains("tied"), "{text}");
		assert_eq!(v.to_json()["tiedClaims"], 0);
		let v = verdict(vec![claim(Some(7), 5), claim(Some(9), 6)]);
		let text = v.to_string();
		assert!(text.contains("tied      1 of them anchored in the same block 7"), "{text}");
		assert_eq!(v.to_json()["tiedClaims"], 1);
		assert!(v.passed());
	}
}
