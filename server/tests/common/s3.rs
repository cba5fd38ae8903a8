//! A throwaway S3 API server on a free loopback port (moto's `moto_server`, installed by
//! `./x setup` in a Python venv; `MOTO_SERVER` names its path), with a bucket, stopped on
//! drop.

use std::{
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

pub struct Moto {
	child: Child,
	pub port: u16,
}

impl Moto {
	/// Start moto and create `bucket`; sets the AWS_* variables the server's S3 client
	/// reads (moto accepts any credentials).
	pub async fn start(bucket: &str) -> anyhow::Result<Self> {
		let port = super::free_port();
		let bin = attest_testkit::venv_tool("MOTO_SERVER", "moto_server");
		let child = Command::new(bin)
			.args(["-H", "127.0.0.1", "-p", &port.to_string()])
			.stdout(Stdio::null())
			.stderr(Stdio::null())
			.spawn()?;
		let moto = Moto { child, port };
		let deadline = Instant::now() + Duration::from_secs(60);
		while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
			anyhow::ensure!(Instant::now() < deadline, "moto_server did not listen within 60 s");
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
		let r = reqwest::Client::new().put(format!("{}/{bucket}", moto.url())).send().await?;
		anyhow::ensure!(r.status().is_success(), "create bucket: {}", r.status());
		std::env::set_var("AWS_ACCESS_KEY_ID", "test");
		std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
		std::env::set_var("AWS_REGION", "us-east-1");
		Ok(moto)
	}

	/// `http://127.0.0.1:PORT`.
	pub fn url(&self) -> String {
		format!("http://127.0.0.1:{}", self.port)
	}
}

impl Drop for Moto {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}
