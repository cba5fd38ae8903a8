//! The checked-in metadata (`chain/metadata/attest.scale`, from which the typed calls are
//! generated) must be what the built runtime serves: a dev node is started and asked for its
//! metadata (V16, `Metadata_metadata_at_version`). With `ATTEST_UPDATE_METADATA=1` the file is
//! rewritten instead (`scripts/refresh-metadata.sh`).

use codec::{Decode, Encode};

#[test]
fn metadata_matches_the_runtime() {
	let node = attest_testkit::Node::dev(&[]);
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	let served: Vec<u8> = rt.block_on(async {
		let chain = attest_chain::Chain::connect(&node.ws_url()).await.expect("connect");
		let bytes = chain
			.rpc()
			.state_call("Metadata_metadata_at_version", Some(&16u32.encode()), None)
			.await
			.expect("metadata call");
		let opaque = Option::<Vec<u8>>::decode(&mut &bytes[..]).expect("Option<OpaqueMetadata>");
		opaque.expect("the runtime serves metadata V16")
	});
	let path = concat!(env!("CARGO_MANIFEST_DIR"), "/metadata/attest.scale");
	if std::env::var_os("ATTEST_UPDATE_METADATA").is_some() {
		std::fs::write(path, &served).expect("write metadata");
		eprintln!("wrote {path} ({} bytes): rebuild to regenerate the typed calls", served.len());
		return;
	}
	let checked_in = std::fs::read(path).expect("checked-in metadata");
	assert!(
		checked_in == served,
		"chain/metadata/attest.scale ({} bytes) differs from the runtime's metadata ({} bytes): \
		 run scripts/refresh-metadata.sh and commit the file",
		checked_in.len(),
		served.len()
	);
}
