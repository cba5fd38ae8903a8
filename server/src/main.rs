//! `attest-server`: see `attest-server --help` and docs/server.md.

use anyhow::Context as _;
use attest_server::Config;
use clap::Parser as _;

/// glibc's malloc keeps a heap ("arena") per thread that allocates, up to 8 per core, and
/// keeps what is freed in each: the long run measured 873 MB at 200,000 items with its default
/// and 508 MB with 2 arenas, at the same records/s (docs/benchmarks.md). Two arenas unless
/// `MALLOC_ARENA_MAX` says otherwise.
fn bound_malloc_arenas() {
	#[cfg(all(target_os = "linux", target_env = "gnu"))]
	if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
		// SAFETY: mallopt only sets an allocator parameter; called before any other thread
		// exists.
		unsafe {
			libc::mallopt(libc::M_ARENA_MAX, 2);
		}
	}
}

fn main() -> anyhow::Result<()> {
	bound_malloc_arenas();
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
