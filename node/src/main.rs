//! attest-node: the Attest chain node.

// `sc_cli::Error` and `sc_service::Error`, which the polkadot-sdk APIs used here return,
// are large; boxing them at every call site would only add noise.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
