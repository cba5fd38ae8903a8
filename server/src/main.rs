//! `attest-server`: see `attest-server --help` and docs/server.md.

use anyhow::Context as _;
use attest_server::Config;
use clap::Parser as _;

fn main() -> anyhow::Result<()> {
	let config = Config::parse();
	if config.print_openapi {
		println!("{}", attest_server::api::openapi_json()?);
		return Ok(());
	}
	// An upload that is receiving data uses two blocking threads (hashing, writing); leave
	// room for all of them beside the database and file work.
	tokio::runtime::Builder::new_multi_thread()
		.enable_all()
		.max_blocking_threads(512.max(2 * config.max_uploads + 64))
		.build()
		.context("cannot start the async runtime")?
		.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
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
