//! # attest-client
//!
//! The programs the people who use an Attest chain run, as a library and the `attest` CLI:
//!
//! * [`requester`]: attest files (`attest submit`): hash, send to the verifier, check the
//!   bill, sign the state (persisted first), upload records and data, pay.
//! * [`verifier`]: the verifier service (`attest verifier serve`): check, bill, countersign,
//!   upload first records, reveal bill keys.
//! * [`protocol`]: the channel rules both apply, without I/O.
//! * [`store`]: each party's durable state (SQLite).
//! * [`ops`]: channel calls on chain and the watchtower.
//! * [`evidence`]: verify a file, export its proof, check an exported proof (`attest verify`,
//!   `attest proof`).
//! * [`transport`]: the agent-to-agent messages (`docs/protocol.md`, "Agent transport").
//! * [`server_api`]: the attestation server as the agents use it (its JSON is `attest-wire`).
//!
//! Chain access is `attest-chain` (re-exported as [`chain`]).

pub use attest_chain as chain;

pub mod evidence;
pub mod ops;
pub mod protocol;
pub mod requester;
pub mod server_api;
pub mod store;
pub mod transport;
pub mod verifier;
