//! A throwaway PostgreSQL server: `initdb` into a temp dir, started on a free loopback port,
//! stopped (immediate mode) on drop. Runs as the `postgres` user when the test runs as root
//! (PostgreSQL refuses to run as root).

use std::{
	path::PathBuf,
	process::Command,
	time::{Duration, Instant},
};

pub struct Postgres {
	pub port: u16,
	bin: PathBuf,
	dir: PathBuf,
	as_postgres: bool,
}

/// Directory with `initdb` and `pg_ctl`: `$PG_BIN`, else the newest /usr/lib/postgresql/*/bin.
fn pg_bin() -> Option<PathBuf> {
	if let Some(p) = std::env::var_os("PG_BIN") {
		return Some(PathBuf::from(p));
	}
	let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
		.ok()?
		.flatten()
		.map(|e| e.path().join("bin"))
		.filter(|p| p.join("initdb").is_file())
		.collect();
	versions.sort();
	versions.pop()
}

impl Postgres {
	pub fn start() -> Self {
		let bin = pg_bin().expect(
			"PostgreSQL server binaries not found (initdb, pg_ctl): `./x setup` installs them \
			 (apt-get install postgresql), or set PG_BIN",
		);
		let as_postgres = running_as_root();
		let dir = std::env::temp_dir().join(format!(
			"attest-pg-{}-{}",
			std::process::id(),
			super::free_port()
		));
		std::fs::create_dir_all(&dir).expect("pg dir");
		if as_postgres {
			let ok = Command::new("chown")
				.arg("postgres:postgres")
				.arg(&dir)
				.status()
				.map(|s| s.success());
			assert!(matches!(ok, Ok(true)), "chown postgres {}", dir.display());
		}
		let port = super::free_port();
		let pg = Postgres { port, bin, dir, as_postgres };
		let data = pg.dir.join("data");
		pg.run(
			"initdb",
			&[
				"-D",
				data.to_str().unwrap_or_default(),
				"-U",
				"attest",
				"--auth=trust",
				"-E",
				"UTF8",
				"--no-sync",
			],
		);
		let log = pg.dir.join("pg.log");
		let opts =
			format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=on", pg.dir.display());
		pg.run(
			"pg_ctl",
			&[
				"-D",
				data.to_str().unwrap_or_default(),
				"-l",
				log.to_str().unwrap_or_default(),
				"-o",
				&opts,
				"-w",
				"start",
			],
		);
		let deadline = Instant::now() + Duration::from_secs(30);
		while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
			assert!(
				Instant::now() < deadline,
				"PostgreSQL did not start: {}",
				std::fs::read_to_string(&log).unwrap_or_default()
			);
			std::thread::sleep(Duration::from_millis(100));
		}
		pg.run("createdb", &["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "attest", "attest"]);
		pg
	}

	fn run(&self, tool: &str, args: &[&str]) {
		let exe = self.bin.join(tool);
		let status = if self.as_postgres {
			Command::new("runuser")
				.args(["-u", "postgres", "--"])
				.arg(&exe)
				.args(args)
				.status()
		} else {
			Command::new(&exe).args(args).status()
		};
		assert!(
			matches!(status, Ok(s) if s.success()),
			"{} {args:?} failed: {status:?}",
			exe.display()
		);
	}

	pub fn url(&self) -> String {
		format!("postgres://attest@127.0.0.1:{}/attest", self.port)
	}

	/// Create another database `name` on this server; its URL.
	pub fn database(&self, name: &str) -> String {
		let port = self.port.to_string();
		self.run("createdb", &["-h", "127.0.0.1", "-p", &port, "-U", "attest", name]);
		format!("postgres://attest@127.0.0.1:{}/{name}", self.port)
	}
}

fn running_as_root() -> bool {
	// No libc dependency: the effective uid is in /proc/self/status ("Uid: real effective ...").
	std::fs::read_to_string("/proc/self/status")
		.ok()
		.and_then(|s| {
			s.lines()
				.find(|l| l.starts_with("Uid:"))
				.map(|l| l.split_whitespace().nth(2) == Some("0"))
		})
		.unwrap_or(false)
}

impl Drop for Postgres {
	fn drop(&mut self) {
		let data = self.dir.join("data");
		let exe = self.bin.join("pg_ctl");
		let args = ["-D", data.to_str().unwrap_or_default(), "-m", "immediate", "stop"];
		let _ = if self.as_postgres {
			Command::new("runuser")
				.args(["-u", "postgres", "--"])
				.arg(&exe)
				.args(args)
				.status()
		} else {
			Command::new(&exe).args(args).status()
		};
		let _ = std::fs::remove_dir_all(&self.dir);
	}
}
