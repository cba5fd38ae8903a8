//! `attest-server`: see `attest-server --help` and docs/server.md.

use anyhow::Context as _;
use attest_server::Config;
use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	let config = Config::parse();
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_new(&config.log)
				.with_context(|| format!("invalid --log filter {:?}", config.log))?,
		)
		.init();
	let running = attest_server::start(config).await?;
	println!("listening on http://{}", running.addr);
	let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
	tokio::select! {
		_ = tokio::signal::ctrl_c() => {},
		_ = term.recv() => {},
	}
	tracing::info!("shutting down");
	running.stop().await?;
	Ok(())
}
