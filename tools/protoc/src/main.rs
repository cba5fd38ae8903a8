//! `attest-protoc`: prints the path of the protoc binary that `protoc-bin-vendored` ships, so
//! that `./x` can set `PROTOC` for the node's build (libp2p and litep2p compile protobuf
//! files) on a machine without a system protoc, and without root.

fn main() {
	match protoc_bin_vendored::protoc_bin_path() {
		Ok(path) => println!("{}", path.display()),
		Err(e) => {
			eprintln!(
				"error: no vendored protoc for this platform ({e}): install protoc (Debian/Ubuntu: \
				 sudo apt-get install protobuf-compiler) or set PROTOC"
			);
			std::process::exit(1);
		},
	}
}
